// The performance benchmark: forwarded throughput, apply time, synth time and synth scaling, each
// as a RATIO against a baseline measured in the same run on the same machine.
//
//   ts-node -P test/tsconfig.json --transpile-only bench/run.ts [--smoke] [--lib <dir>] [--only <phase>[,<phase>]]
//
// Needs root (network namespaces, firewall rules), iperf3, iproute2, iptables, nftables, ipset, and
// a current lib/ and synth app (npx projen compile, which also bundles build/synth-app.js). The full
// run writes BENCHMARKS.md and exits 2 when a target is missed (1 when it cannot run); --smoke runs
// everything tiny (about a minute), prints the ratios, writes nothing and exits 0. --only runs just the
// phases named (synth, apply, throughput, latency, scale, agent) with the full settings (or the smoke
// ones with --smoke), prints their ratios and writes nothing: for measuring one change quickly.
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { measureAgent } from './agent';
import { measureApply } from './apply-time';
import { BenchSetupError, NS_PREFIX, REPO, benchOptions, checkLib, nowMs, progress, removeDeadRunsNamespaces, removeOwnNamespaces, run } from './common';
import { measureLatency } from './latency';
import { describeMachine } from './machine';
import { Ratio, expectedRatioKeys, passes, ratioLine } from './ratios';
import { renderReport } from './report';
import { measureScaleLimits } from './scale';
import { measureSynth, resolveSynthApp } from './synth-time';
import { measureThroughput } from './throughput';

const REQUIRED_TOOLS = ['ip', 'ss', 'iperf3', 'sockperf', 'taskset', 'ipset', 'nft', 'iptables-nft', 'iptables-nft-restore', 'ip6tables-nft-restore', 'lscpu', 'busybox'];

const PHASES = ['synth', 'apply', 'throughput', 'latency', 'scale', 'agent'] as const;
type Phase = (typeof PHASES)[number];
const USAGE = `usage: bench/run.ts [--smoke] [--lib <dir>] [--only <phase>[,<phase>]] (phases: ${PHASES.join(', ')})`;

function parseArgs(argv: string[]): { smoke: boolean; libDir: string; only?: Set<Phase> } {
  let smoke = false;
  let libDir = join(REPO, 'lib');
  let only: Set<Phase> | undefined;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--smoke') {
      smoke = true;
    } else if (argv[i] === '--only' && argv[i + 1]) {
      const names = argv[i + 1].split(',');
      const unknown = names.filter((n) => !(PHASES as readonly string[]).includes(n));
      if (unknown.length > 0) throw new BenchSetupError(`unknown phase ${unknown.join(', ')}; ${USAGE}`);
      only = new Set(names as Phase[]);
      i++;
    } else if (argv[i] === '--lib' && argv[i + 1]) {
      libDir = isAbsolute(argv[i + 1]) ? argv[i + 1] : join(process.cwd(), argv[i + 1]);
      i++;
    } else {
      throw new BenchSetupError(`unknown argument ${JSON.stringify(argv[i])}; ${USAGE}`);
    }
  }
  return { smoke, libDir, only };
}

async function preflight(libDir: string, smoke: boolean): Promise<string[]> {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    throw new BenchSetupError('needs root: it creates network namespaces and firewall rules (run it with sudo)');
  }
  const missing: string[] = [];
  for (const tool of REQUIRED_TOOLS) if ((await run('sh', ['-c', `command -v ${tool}`])).code !== 0) missing.push(tool);
  if (missing.length > 0) {
    throw new BenchSetupError(`missing commands: ${missing.join(', ')} (Debian: apt-get install -y iproute2 iperf3 sockperf iptables nftables ipset util-linux)`);
  }
  const probe = `hnb${process.pid}-probe`;
  if ((await run('ip', ['netns', 'add', probe])).code !== 0) {
    throw new BenchSetupError('`ip netns add` failed: network namespaces are not usable here');
  }
  await run('ip', ['netns', 'del', probe]);
  const warnings: string[] = [];
  const stale = checkLib(libDir, smoke);
  if (stale) warnings.push(stale);
  return warnings;
}

let cleaning: Promise<void> | undefined;
function cleanup(tmp: string | undefined): Promise<void> {
  cleaning ??= (async () => {
    await removeOwnNamespaces();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  })();
  return cleaning;
}

async function main(): Promise<number> {
  const started = nowMs();
  const args = parseArgs(process.argv.slice(2));
  const opts = benchOptions(args.smoke, args.libDir);
  const warnings = await preflight(opts.libDir, opts.smoke);
  const app = resolveSynthApp(opts);
  if (app.warning) warnings.push(app.warning);
  for (const w of warnings) progress(`WARNING: ${w}`);
  progress(`namespaces of this run: ${NS_PREFIX}-*`);
  const leftovers = await removeDeadRunsNamespaces();
  if (leftovers.length > 0) progress(`removed namespaces left by an earlier run: ${leftovers.join(', ')}`);

  const tmp = mkdtempSync(join(tmpdir(), 'hostnet-bench-'));
  const onSignal = (signal: NodeJS.Signals) => {
    progress(`${signal}: removing namespaces`);
    void cleanup(tmp).finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const machine = await describeMachine();
    if (machine.loadAtStart[0] > 0.7) progress(`WARNING: load average ${machine.loadAtStart[0].toFixed(2)} at start: something else is running, numbers may be disturbed`);
    if (args.only) {
      // just the phases named, in the usual order; their ratios printed, nothing written
      const measure: Record<Phase, () => Promise<{ ratios: Ratio[] }>> = {
        synth: () => measureSynth(opts, tmp, app),
        apply: () => measureApply(opts, tmp),
        throughput: () => measureThroughput(opts, tmp),
        latency: () => measureLatency(opts, tmp),
        scale: () => measureScaleLimits(opts, tmp),
        agent: () => measureAgent(opts, tmp),
      };
      for (const phase of PHASES.filter((p) => args.only!.has(p))) {
        for (const ratio of (await measure[phase]()).ratios) process.stdout.write(`${ratioLine(ratio)}\n`);
      }
      process.stdout.write(`bench: --only ${[...args.only].join(',')} took ${((nowMs() - started) / 1000).toFixed(1)} s; nothing written\n`);
      return 0;
    }
    // cheap phases first: a broken setup fails in seconds, not after the iperf3 matrix
    const synth = await measureSynth(opts, tmp, app);
    const apply = await measureApply(opts, tmp);
    const throughput = await measureThroughput(opts, tmp);
    const latency = await measureLatency(opts, tmp);
    const scale = await measureScaleLimits(opts, tmp);
    const agent = await measureAgent(opts, tmp);
    const ratios: Ratio[] = [...throughput.ratios, ...apply.ratios, ...synth.ratios, ...latency.ratios, ...scale.ratios, ...agent.ratios];

    const printed = new Set(ratios.map((r) => r.key));
    const absent = expectedRatioKeys().filter((k) => !printed.has(k));
    if (absent.length > 0) throw new Error(`internal: ratios not measured: ${absent.join(', ')}`);
    const byKey = new Map(ratios.map((r) => [r.key, r]));
    for (const key of expectedRatioKeys()) process.stdout.write(`${ratioLine(byKey.get(key)!)}\n`);

    const seconds = (nowMs() - started) / 1000;
    const missed = ratios.filter((r) => passes(r) === false);
    process.stdout.write(`bench: ${opts.smoke ? 'smoke run' : 'full run'} took ${seconds.toFixed(1)} s; ` +
      `${ratios.filter((r) => r.target).length - missed.length} targets met, ${missed.length} missed${opts.smoke ? ' (not enforced in --smoke)' : ''}\n`);
    if (opts.smoke) return 0;

    const report = renderReport({ machine, loadAtEnd: loadavg(), seconds, ratios, throughput, apply, synth, agent, latency, scale, warnings });
    const target = join(REPO, 'BENCHMARKS.md');
    writeFileSync(`${target}.tmp`, report);
    renameSync(`${target}.tmp`, target);
    process.stdout.write('bench: wrote BENCHMARKS.md\n');
    return missed.length > 0 ? 2 : 0;
  } finally {
    await cleanup(tmp);
  }
}

main().then(
  (code) => { process.exitCode = code; },
  async (error) => {
    await cleanup(undefined);
    process.stderr.write(error instanceof BenchSetupError ? `bench: ${error.message}\n` : `bench: FAILED: ${(error as Error).stack ?? error}\n`);
    process.exitCode = 1;
  },
);
