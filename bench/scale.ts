// How the cost grows past 1,000 exempted CIDRs: 1k -> 10k -> 100k (issue 12).
//
// - synth time, in-process with the compiled library (as synth-time.ts's scaling), for one list of
//   CIDRs and for the same list with a destination port list;
// - the Linux scripts ConfigMap per backend, in bytes (the 1 MiB object limit; 256 KiB for the
//   last-applied annotation of client-side `kubectl apply`) and whether app.synth() refuses it;
// - apply and re-apply time against a bare restore of the same size (apply-time.ts's method);
// - per-packet throughput (tracked and untracked UDP) and UDP latency with the policy vs none,
//   side by side (throughput.ts's and latency.ts's method);
// - Windows: rules apply.ps1 creates and its size.
// The objects are produced without cdk8s validation (ApiObject.toJson), so a policy over 1 MiB can
// still be measured; app.synth() is run once per size to record whether it refuses it.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApplyBackendResult, APPLY_NAMESPACES, measureBackend } from './apply-time';
import { BenchOptions, deleteNamespace, median, nowMs, progress } from './common';
import { LatencyPair, LatencyServers, firewallConfig, latencyRatio, measureLatencyPair } from './latency';
import { BENCH_PROFILE, Scripts, inListExemptions, iperfExemptions, scaleBulkExemption, sockperfExemptions } from './policies';
import {
  APPLY_KINDS, APPLY_TARGET, BACKENDS, Backend, PERCENTILES, Ratio, SCALE_BIG_TIERS, SCALE_FLOWS, SCALE_IN_LIST_FLOW, SCALE_LATENCY_TESTS,
  SCALE_TARGET,
  SCALE_TIERS, SCALE_VARIANTS, ScaleBigTier, ScaleTier, ScaleVariant, THROUGHPUT_TARGET, scaleApplyKey, scaleConfigMapKey, scaleLatencyKey,
  scaleSynthKey, scaleThroughputKey, scaleWindowsKey,
} from './ratios';
import { FirewallConfig, NONE, Pair, THROUGHPUT_TOPOLOGIES, Topology, fmtRange, measurePair, pairRatio, untracked } from './throughput';
import { E2E_OVERRIDES } from '../test/util/synth';

/** What client-side `kubectl apply` can keep in its last-applied-configuration annotation. */
export const ANNOTATION_MAX_BYTES = 256 * 1024;

export interface ScaleBuild {
  readonly count: number;
  /** Keys plus values of the ConfigMap, as the 1 MiB refusal counts them. */
  readonly linuxConfigMapBytes: number;
  /** The first line of app.synth()'s refusal, if it refuses. */
  readonly refusal?: string;
  readonly apply: string;
  readonly remove: string;
  readonly windowsRules: number;
  readonly windowsApplyBytes: number;
  readonly windowsConfigMapBytes: number;
}

export interface ScalePhaseResult {
  readonly ratios: Ratio[];
  readonly counts: Record<ScaleTier, number>;
  /** In-process synth ms per run, by variant and tier. */
  readonly synthMs: Record<ScaleVariant, Record<ScaleTier, number[]>>;
  readonly builds: Record<Backend, Record<ScaleTier, ScaleBuild>>;
  readonly configMapMaxBytes: number;
  readonly apply: Record<Backend, Record<ScaleBigTier, ApplyBackendResult>>;
  readonly throughput: Record<string, Record<(typeof SCALE_FLOWS)[number], Pair[]>>;
  readonly latency: Record<string, Record<(typeof SCALE_LATENCY_TESTS)[number], LatencyPair[]>>;
  readonly reps: number;
  readonly synthRuns: number;
  readonly applyIterations: number;
}

type Lib = ReturnType<typeof loadLib>;

/** The compiled library from --lib (not src/ through ts-node), and the cdk8s it resolves. */
function loadLib(libDir: string) {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const lib = (path: string) => require(join(libDir, path));
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const cdk8s = require(require.resolve('cdk8s', { paths: [libDir] }));
  return {
    loadClusterConfig: lib('app/cluster-config.js').loadClusterConfig,
    // (a library older than the parse cache has none to forget)
    forgetParsedCidrs: (lib('policy/cidr.js').forgetParsedCidrs ?? (() => undefined)) as () => void,
    buildApp: lib('app/build-app.js').buildApp,
    ClusterProfiles: lib('profiles/cluster-profiles.js').ClusterProfiles,
    configMapMaxBytes: lib('constructs/node-agent.js').CONFIG_MAP_MAX_BYTES as number,
    App: cdk8s.App,
    ApiObject: cdk8s.ApiObject,
    Yaml: cdk8s.Yaml,
  };
}

/**
 * Reads the override file, builds the charts, renders every object and the YAML: what app.synth()
 * does, minus its validations (which refuse > 1 MiB) and the file write. Returns the objects.
 */
function synthObjects(lib: Lib, file: string, outdir: string): { objects: any[]; app: any } {
  // cold, as a fresh process: CIDRs parsed by an earlier synth must not make this one cheaper
  lib.forgetParsedCidrs();
  const config = lib.loadClusterConfig(file, lib.ClusterProfiles.byName(BENCH_PROFILE));
  const app = new lib.App({ outdir });
  lib.buildApp(app, config);
  const objects = (app.charts as any[]).flatMap((chart) =>
    chart.node.findAll().filter((c: unknown) => c instanceof lib.ApiObject).map((o: any) => o.toJson()));
  lib.Yaml.stringify(...objects);
  return { objects, app };
}

const configMapBytes = (data: Record<string, string>) =>
  Object.entries(data).reduce((sum, [key, value]) => sum + Buffer.byteLength(key) + Buffer.byteLength(value), 0);

function findData(objects: any[], name: string): Record<string, string> {
  const found = objects.find((o) => o.kind === 'ConfigMap' && o.metadata?.name === name);
  if (!found) throw new Error(`scale: no ConfigMap ${name} in the synthesized objects`);
  return found.data;
}

export async function measureScaleLimits(opts: BenchOptions, tmp: string): Promise<ScalePhaseResult> {
  const lib = loadLib(opts.libDir);
  const counts = Object.fromEntries(SCALE_TIERS.map((tier, i) => [tier, opts.scaleCounts[i]])) as Record<ScaleTier, number>;
  const outdir = mkdtempSync(join(tmp, 'scale-out-'));
  const ratios: Ratio[] = [];

  // 1. synth time: the profile's default backend, the big exemption alone
  const synthMs = {} as ScalePhaseResult['synthMs'];
  for (const variant of SCALE_VARIANTS) {
    const files = Object.fromEntries(SCALE_TIERS.map((tier) => {
      const file = join(tmp, `scale-synth-${variant}-${tier}.json`);
      writeFileSync(file, JSON.stringify({ ...E2E_OVERRIDES, exemptions: [scaleBulkExemption(counts[tier], variant)] }));
      return [tier, file];
    })) as Record<ScaleTier, string>;
    // warm-up (JIT, caches) on the small list only: a 100k synth takes seconds
    synthObjects(lib, files['1k'], outdir);
    synthMs[variant] = { '1k': [], '10k': [], '100k': [] };
    for (let i = 0; i < opts.scaleSynthRuns; i++) {
      progress(`scale synth (${variant}) ${i + 1}/${opts.scaleSynthRuns}`);
      for (const tier of i % 2 === 0 ? SCALE_TIERS : [...SCALE_TIERS].reverse()) {
        const start = nowMs();
        synthObjects(lib, files[tier], outdir);
        synthMs[variant][tier].push(nowMs() - start);
      }
    }
    const t = (tier: ScaleTier) => median(synthMs[variant][tier]);
    const detail = (big: ScaleTier, small: ScaleTier) => `${counts[big]} CIDRs ${t(big).toFixed(0)} ms vs ${counts[small]} ${t(small).toFixed(0)} ms` +
      ` (x${(counts[big] / counts[small]).toFixed(0)} entries), in-process synth without validation, median of ${opts.scaleSynthRuns}` +
      (variant === 'cidrs-ports' ? ', with a 10-entry destination port list' : '');
    ratios.push({ key: scaleSynthKey(variant, '10k-vs-1k'), value: t('10k') / t('1k'), target: SCALE_TARGET, detail: detail('10k', '1k') });
    ratios.push({ key: scaleSynthKey(variant, '100k-vs-10k'), value: t('100k') / t('10k'), target: SCALE_TARGET, detail: detail('100k', '10k') });
  }

  // 2. the manifests per backend: with the benchmark's own allows, so the same scripts are applied and measured
  const builds = {} as ScalePhaseResult['builds'];
  for (const backend of BACKENDS) {
    builds[backend] = {} as Record<ScaleTier, ScaleBuild>;
    for (const tier of SCALE_TIERS) {
      progress(`scale manifests ${backend} ${counts[tier]} CIDRs`);
      const file = join(tmp, `scale-${backend}-${tier}.json`);
      writeFileSync(file, JSON.stringify({
        ...E2E_OVERRIDES, linuxBackend: backend, exemptions: [scaleBulkExemption(counts[tier]), ...iperfExemptions(), ...sockperfExemptions()],
      }));
      const { objects, app } = synthObjects(lib, file, outdir);
      const linux = findData(objects, 'hostnet-linux-scripts');
      const windows = findData(objects, 'hostnet-windows-scripts');
      let refusal: string | undefined;
      try {
        app.synth();
      } catch (error) {
        refusal = (error as Error).message.split('\n').find((l) => l.includes('hostnet-linux-scripts'))?.trim() ?? (error as Error).message.split('\n')[0];
      }
      builds[backend][tier] = {
        count: counts[tier],
        linuxConfigMapBytes: configMapBytes(linux),
        refusal,
        apply: linux['apply.sh'],
        remove: linux['remove.sh'],
        // one hashtable of New-NetFirewallRule parameters per rule, each with one `Name = '...'`
        windowsRules: (windows['apply.ps1'].match(/^\s+Name\s+= '/gm) ?? []).length,
        windowsApplyBytes: Buffer.byteLength(windows['apply.ps1']),
        windowsConfigMapBytes: configMapBytes(windows),
      };
    }
  }
  // the in-list policies: the server's /28 in the big list, which is then the flow's only allow
  const inList = {} as Record<Backend, Record<ScaleBigTier, Scripts>>;
  for (const backend of BACKENDS) {
    inList[backend] = {} as Record<ScaleBigTier, Scripts>;
    for (const tier of SCALE_BIG_TIERS) {
      progress(`scale manifests ${backend} ${counts[tier]} CIDRs, the flow in the list`);
      const file = join(tmp, `scale-${backend}-${tier}-in-list.json`);
      writeFileSync(file, JSON.stringify({
        ...E2E_OVERRIDES, linuxBackend: backend, exemptions: [...inListExemptions(scaleBulkExemption(counts[tier]), 28), ...sockperfExemptions()],
      }));
      const linux = findData(synthObjects(lib, file, outdir).objects, 'hostnet-linux-scripts');
      inList[backend][tier] = { apply: linux['apply.sh'], remove: linux['remove.sh'] };
    }
  }
  rmSync(outdir, { recursive: true, force: true });
  const max = lib.configMapMaxBytes;
  for (const backend of BACKENDS) {
    for (const tier of SCALE_TIERS) {
      const b = builds[backend][tier];
      const over = b.linuxConfigMapBytes > max ? 'OVER 1 MiB: app.synth() refuses it' : b.linuxConfigMapBytes > ANNOTATION_MAX_BYTES
        ? 'over 256 KiB (client-side kubectl apply cannot keep it in last-applied-configuration; server-side apply can)' : 'under 256 KiB';
      ratios.push({
        key: scaleConfigMapKey(backend, tier),
        value: b.linuxConfigMapBytes / max,
        detail: `hostnet-linux-scripts holds ${b.linuxConfigMapBytes} bytes with ${b.count} CIDRs (fraction of 1 MiB): ${over}` +
          `${b.refusal && b.linuxConfigMapBytes <= max ? `; app.synth() refused: ${b.refusal}` : ''}`,
      });
    }
  }
  for (const tier of SCALE_TIERS) {
    const b = builds.iptables[tier];
    ratios.push({ key: scaleWindowsKey(tier, 'rules'), value: b.windowsRules, detail: `Block rules apply.ps1 creates with ${b.count} exempted CIDRs (non-adjacent /28s)` });
    ratios.push({
      key: scaleWindowsKey(tier, 'apply-ps1-kib'),
      value: b.windowsApplyBytes / 1024,
      detail: `apply.ps1 KiB with ${b.count} CIDRs; the Windows ConfigMap holds ${b.windowsConfigMapBytes} bytes` +
        `${b.windowsConfigMapBytes > max ? ' (OVER 1 MiB: app.synth() refuses it)' : ''}`,
    });
  }

  // 3. apply and re-apply against a bare restore of the same kernel state
  const apply = {} as ScalePhaseResult['apply'];
  try {
    for (const backend of BACKENDS) {
      apply[backend] = {} as Record<ScaleBigTier, ApplyBackendResult>;
      for (const tier of SCALE_BIG_TIERS) {
        const b = builds[backend][tier];
        const result = await measureBackend(opts, tmp, backend, { apply: b.apply, remove: b.remove }, opts.scaleApplyIterations, `-${tier}`);
        apply[backend][tier] = result;
        for (const kind of APPLY_KINDS) {
          const ours = kind === 'first' ? result.oursMs : result.reapplyMs;
          ratios.push({
            key: scaleApplyKey(backend, tier, kind),
            value: ours / (kind === 'first' ? result.bareMs : result.bareAgainMs),
            target: APPLY_TARGET,
            detail: `${kind === 'first' ? 'apply.sh' : 'apply.sh again'} ${ours.toFixed(0)} ms vs ` +
              `${kind === 'first' ? `bare ${result.bareMs.toFixed(0)}` : `bare again ${result.bareAgainMs.toFixed(0)}`} ms ` +
              `(${result.sizes.setElements} set elements, ${result.sizes.ruleLines} rule lines; median of ${opts.scaleApplyIterations})`,
          });
        }
      }
    }
  } finally {
    for (const ns of APPLY_NAMESPACES) await deleteNamespace(ns);
  }

  // 4. per packet: the big policies side by side with none, A and B swapping roles every round
  const configs: FirewallConfig[] = [];
  for (const backend of BACKENDS) {
    for (const tier of SCALE_BIG_TIERS) {
      const b = builds[backend][tier];
      configs.push(firewallConfig(tmp, `${backend}.${tier}`, backend, `${tier}-cidrs`, { apply: b.apply, remove: b.remove }));
    }
  }
  // the rule the in-list flow must reach (throughput.ts checks the counters on iptables)
  const inListConfigs = BACKENDS.flatMap((backend) => SCALE_BIG_TIERS.map((tier) =>
    firewallConfig(tmp, `${backend}.${tier}-in-list`, backend, `${tier}-cidrs-in-list`, inList[backend][tier])));
  const throughput: ScalePhaseResult['throughput'] = {};
  const inListPairs: Record<string, Pair[]> = {};
  const latency: ScalePhaseResult['latency'] = {};
  const topologies = THROUGHPUT_TOPOLOGIES.map((name) => new Topology(name));
  const servers = topologies.map((t) => new LatencyServers(t));
  try {
    for (const t of topologies) {
      await t.build();
      await t.prepareLegacyTables();
      await t.startServer();
    }
    for (const s of servers) await s.start();
    for (const config of configs) {
      throughput[config.key] = { 'udp': [], 'udp-untracked': [] };
      latency[config.key] = { 'udp-forward': [], 'udp-node': [] };
      for (let round = 0; round < opts.throughputReps; round++) {
        const [test, base] = round % 2 === 0 ? topologies : [...topologies].reverse();
        progress(`scale per-packet round ${round + 1}/${opts.throughputReps}: ${config.key} (policy on ${test.name})`);
        await test.switchTo(config);
        throughput[config.key].udp.push(await measurePair(opts, 'udp', config, test, base));
        const measureLatencies = async () => {
          const batches = opts.smoke ? [[...SCALE_LATENCY_TESTS]] : SCALE_LATENCY_TESTS.map((t) => [t]);
          for (const batch of batches) {
            const measured = await measureLatencyPair(opts.latencySeconds, batch, config, test, base);
            for (const t of batch) latency[config.key][t].push(measured[t]);
          }
        };
        await untracked(topologies, async () => {
          // the smoke run (numbers not kept) measures latency during the untracked flow, to stay short
          const pair = measurePair(opts, 'udp-untracked', config, test, base);
          if (opts.smoke) await measureLatencies();
          throughput[config.key]['udp-untracked'].push(await pair);
        });
        if (!opts.smoke) await measureLatencies();
        await test.switchTo(NONE);
      }
    }
    for (const config of inListConfigs) {
      inListPairs[config.key] = [];
      for (let round = 0; round < opts.throughputReps; round++) {
        const [test, base] = round % 2 === 0 ? topologies : [...topologies].reverse();
        progress(`scale per-packet round ${round + 1}/${opts.throughputReps}: ${config.key} (policy on ${test.name})`);
        await test.switchTo(config);
        inListPairs[config.key].push(await untracked(topologies, () => measurePair(opts, 'udp-untracked', config, test, base)));
        await test.switchTo(NONE);
      }
    }
  } finally {
    for (const s of servers) await s.stop();
    for (const t of topologies) await t.destroy();
  }
  for (const flow of SCALE_FLOWS) {
    for (const backend of BACKENDS) {
      for (const tier of SCALE_BIG_TIERS) {
        const perRound = throughput[`${backend}.${tier}`][flow].map(pairRatio);
        ratios.push({
          key: scaleThroughputKey(flow, backend, tier),
          value: median(perRound),
          target: THROUGHPUT_TARGET,
          detail: `${counts[tier]} CIDRs: median over ${perRound.length} rounds of (with policy / without, side by side) [${fmtRange(perRound)}]`,
        });
      }
    }
  }
  for (const backend of BACKENDS) {
    for (const tier of SCALE_BIG_TIERS) {
      const perRound = inListPairs[`${backend}.${tier}-in-list`].map(pairRatio);
      ratios.push({
        key: scaleThroughputKey(SCALE_IN_LIST_FLOW, backend, tier),
        value: median(perRound),
        target: THROUGHPUT_TARGET,
        detail: `${counts[tier]} CIDRs, the server's /28 one of them and the flow's only allow, untracked: ` +
          `median over ${perRound.length} rounds of (with policy / without, side by side) [${fmtRange(perRound)}]`,
      });
    }
  }
  for (const test of SCALE_LATENCY_TESTS) {
    for (const backend of BACKENDS) {
      for (const tier of SCALE_BIG_TIERS) {
        for (const pct of PERCENTILES) {
          const r = latencyRatio(scaleLatencyKey(test, backend, tier, pct), latency[`${backend}.${tier}`][test], pct);
          ratios.push({ ...r, detail: `${counts[tier]} CIDRs: ${r.detail}` });
        }
      }
    }
  }
  return {
    ratios,
    counts,
    synthMs,
    builds,
    configMapMaxBytes: max,
    apply,
    throughput,
    latency,
    reps: opts.throughputReps,
    synthRuns: opts.scaleSynthRuns,
    applyIterations: opts.scaleApplyIterations,
  };
}
