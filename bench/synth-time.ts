// Synth time of the synth app per profile against loading cdk8s-plus-28, and how synth time
// grows with the number of declared items.
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { BenchOptions, BenchSetupError, REPO, median, nowMs, progress, timeRun } from './common';
import { BENCH_PROFILE } from './policies';
import { Ratio, SCALE_KINDS, SCALE_TARGET, SYNTH_LIB_MAIN_KEY, SYNTH_TARGET, scaleKey, scaleMarginalKey, synthKey } from './ratios';
import { distinctCidrs } from '../test/util/gen-cidrs';
import { E2E_OVERRIDES, PROFILE_NAMES } from '../test/util/synth';

/** The program `cdk8s synth` runs (cdk8s.yaml `app: node <file>`), and what the benchmark times. */
export interface SynthApp {
  /** The script node runs, absolute. */
  readonly file: string;
  /** As cdk8s.yaml names it, for the report (e.g. build/synth-app.js). */
  readonly label: string;
  /** Set when the smoke run had to fall back to <lib>/main.js. */
  readonly warning?: string;
}

/**
 * Reads cdk8s.yaml's `app:`. A bundle (build/synth-app.js, made from lib/ by `projen compile`)
 * must exist and be newer than lib/; otherwise the full run fails and the smoke run times
 * <lib>/main.js in its place (its numbers are not kept).
 */
export function resolveSynthApp(opts: BenchOptions): SynthApp {
  const app = /^app:\s*node\s+(\S+)\s*$/m.exec(readFileSync(join(REPO, 'cdk8s.yaml'), 'utf8'))?.[1];
  if (!app) throw new BenchSetupError('cdk8s.yaml has no `app: node <file>` line: bench/synth-time.ts cannot tell what `cdk8s synth` runs');
  const libMain = join(opts.libDir, 'main.js');
  if (app === 'lib/main.js') return { file: libMain, label: app };
  const file = join(REPO, app);
  const newestLib = newestMtime(opts.libDir);
  const problem = !existsSync(file) ? `${app} (cdk8s.yaml's app) is missing`
    : statSync(file).mtimeMs < newestLib ? `${app} (cdk8s.yaml's app) is older than ${relative(REPO, opts.libDir) || opts.libDir}/` : undefined;
  if (!problem) return { file, label: app };
  if (!opts.smoke) throw new BenchSetupError(`${problem}: build it (npx projen compile, which bundles) before benchmarking`);
  return { file: libMain, label: `${relative(REPO, libMain)} (in place of ${app})`, warning: `${problem}: the smoke run times ${relative(REPO, libMain)} instead` };
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * A kind of item a cluster declares in its override file, whose count should scale synth time
 * linearly. To add one (e.g. compartmentWorkloads), add an entry here and its key to SCALE_KINDS.
 */
export interface ItemKind {
  readonly key: (typeof SCALE_KINDS)[number];
  /** What one item is, for the report. */
  readonly describe: string;
  /** The smaller and the 10x larger count. */
  readonly counts: readonly [number, number];
  /** Override-file fields declaring `n` items (merged over E2E_OVERRIDES). */
  overrides(n: number): Record<string, unknown>;
}

export const ITEM_KINDS: readonly ItemKind[] = [
  {
    key: 'exemptions',
    describe: 'one exemption per item: udp, scopes [podForward, nodeEgress], one distinct /24 destination',
    counts: [100, 1000],
    overrides: (n) => ({
      exemptions: distinctCidrs(n).map((cidr, i) => ({
        id: `bench-item-${i}`,
        protocol: 'udp',
        scopes: ['podForward', 'nodeEgress'],
        destinations: [cidr],
        description: `benchmark item ${i}`,
      })),
    }),
  },
];

export interface ScaleResult {
  readonly counts: number[];
  /** In-process synth, ms per run, by item count. */
  readonly ms: Record<number, number[]>;
  /** The part of it spent in loadClusterConfig (reading and checking the override file). */
  readonly loadMs: Record<number, number[]>;
}

export interface SynthResult {
  readonly ratios: Ratio[];
  readonly moduleLoadMs: number[];
  readonly profileMs: Record<string, number[]>;
  readonly libMainMs: number[];
  readonly app: SynthApp;
  readonly scale: Record<string, ScaleResult>;
  readonly runs: number;
  readonly scaleRuns: number;
}

const MODULE_LOAD = ['-e', "require('cdk8s-plus-28')"];

export async function measureSynth(opts: BenchOptions, tmp: string, app: SynthApp): Promise<SynthResult> {
  const overridesFile = join(tmp, 'synth-overrides.yaml');
  // JSON is YAML: the app reads it with the same loader
  writeFileSync(overridesFile, JSON.stringify(E2E_OVERRIDES));
  const outdir = join(tmp, 'synth-out');
  mkdirSync(outdir, { recursive: true });
  const libMain = join(opts.libDir, 'main.js');
  const moduleLoad = () => timeRun(process.execPath, MODULE_LOAD, 'module load', { cwd: REPO, timeoutMs: 60000 });
  const synth = (profile: string, script = app.file) => timeRun(process.execPath, [script], `synth of ${profile} (${script})`, {
    cwd: REPO,
    timeoutMs: 60000,
    env: {
      CLUSTER_PROFILE: profile,
      CLUSTER_CONFIG: overridesFile,
      CDK8S_OUTDIR: join(outdir, script === app.file ? profile : `${profile}-lib-main`),
      CDK8S_CHECK_UPGRADE: 'false',
    },
  });

  // one untimed run of each: page cache, and a clear error if the app fails
  await moduleLoad();
  for (const profile of PROFILE_NAMES) {
    await synth(profile);
    const out = join(outdir, profile, 'hostnet.k8s.yaml');
    if (statSync(out, { throwIfNoEntry: false })?.size === undefined) throw new Error(`synth of ${profile} wrote no ${out}`);
  }
  await synth(BENCH_PROFILE, libMain);
  const moduleLoadMs: number[] = [];
  const profileMs: Record<string, number[]> = Object.fromEntries(PROFILE_NAMES.map((p) => [p, []]));
  const libMainMs: number[] = [];
  for (let i = 0; i < opts.synthRuns; i++) {
    progress(`synth run ${i + 1}/${opts.synthRuns}`);
    moduleLoadMs.push((await moduleLoad()).ms);
    for (const profile of PROFILE_NAMES) profileMs[profile].push((await synth(profile)).ms);
    libMainMs.push((await synth(BENCH_PROFILE, libMain)).ms);
  }
  const load = median(moduleLoadMs);
  const ratios: Ratio[] = PROFILE_NAMES.map((profile) => {
    const ms = median(profileMs[profile]);
    return {
      key: synthKey(profile),
      value: ms / load,
      target: SYNTH_TARGET,
      detail: `node ${app.label} ${ms.toFixed(0)} ms vs node -e "require('cdk8s-plus-28')" ${load.toFixed(0)} ms (median of ${opts.synthRuns})`,
    };
  });
  const unbundled = median(libMainMs);
  ratios.push({
    key: SYNTH_LIB_MAIN_KEY,
    value: unbundled / load,
    detail: `node ${relative(REPO, libMain)} (${BENCH_PROFILE}, unbundled) ${unbundled.toFixed(0)} ms vs module load ${load.toFixed(0)} ms (median of ${opts.synthRuns})`,
  });

  const scale: SynthResult['scale'] = {};
  for (const kind of ITEM_KINDS) {
    const result = measureScale(opts, tmp, kind);
    scale[kind.key] = result;
    const [small, large] = kind.counts;
    const [tZero, tSmall, tLarge] = [median(result.ms[0]), median(result.ms[small]), median(result.ms[large])];
    ratios.push({
      key: scaleKey(kind.key),
      value: tLarge / tSmall,
      target: SCALE_TARGET,
      detail: `${large} ${kind.key} ${tLarge.toFixed(1)} ms vs ${small} ${tSmall.toFixed(1)} ms, in-process synth (median of ${opts.scaleRuns})`,
    });
    ratios.push({
      key: scaleMarginalKey(kind.key),
      // noise can make the small difference tiny or negative: floor it at 0.1 ms
      value: (tLarge - tZero) / Math.max(tSmall - tZero, 0.1),
      detail: `${large} ${kind.key} add ${(tLarge - tZero).toFixed(1)} ms, ${small} add ${(tSmall - tZero).toFixed(1)} ms over ${tZero.toFixed(1)} ms for none`,
    });
  }
  return { ratios, moduleLoadMs, profileMs, libMainMs, app, scale, runs: opts.synthRuns, scaleRuns: opts.scaleRuns };
}

/**
 * In-process, modules already loaded: read the override file, build the charts, write the YAML
 * (what lib/main.js does after its requires). Module load would otherwise hide the growth.
 */
function measureScale(opts: BenchOptions, tmp: string, kind: ItemKind): ScaleResult {
  // the compiled library, loaded at run time from --lib (not src/ through ts-node)
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const lib = (path: string) => require(join(opts.libDir, path));
  const { loadClusterConfig } = lib('app/cluster-config.js');
  const { HostnetChart } = lib('app/hostnet-chart.js');
  // the charts lib/main.js builds: buildApp where the library has it, else the hostnet chart alone
  const build: (app: unknown, config: unknown) => void = existsSync(join(opts.libDir, 'app/build-app.js'))
    ? lib('app/build-app.js').buildApp
    : (app, config) => new HostnetChart(app, 'hostnet', config);
  const { ClusterProfiles } = lib('profiles/cluster-profiles.js');
  // the cdk8s the compiled library itself resolves
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { App } = require(require.resolve('cdk8s', { paths: [opts.libDir] }));
  const counts = [0, ...kind.counts];
  const files = Object.fromEntries(counts.map((n) => {
    const file = join(tmp, `scale-${kind.key}-${n}.yaml`);
    writeFileSync(file, JSON.stringify({ ...E2E_OVERRIDES, ...kind.overrides(n) }));
    return [n, file];
  }));
  const outdir = join(tmp, `scale-out-${kind.key}`);
  // (a library older than the parse cache has none to forget)
  const forget: () => void = lib('policy/cidr.js').forgetParsedCidrs ?? (() => undefined);
  const once = (n: number) => {
    // cold, as a fresh process: CIDRs parsed by an earlier run must not make this one cheaper
    forget();
    const start = nowMs();
    const config = loadClusterConfig(files[n], ClusterProfiles.byName(BENCH_PROFILE));
    const loaded = nowMs();
    const app = new App({ outdir });
    build(app, config);
    app.synth();
    const end = nowMs();
    return { total: end - start, load: loaded - start };
  };
  // warm-up: JIT and caches, so the first timed count is not penalised
  for (let i = 0; i < 2; i++) for (const n of counts) once(n);
  const ms: Record<number, number[]> = Object.fromEntries(counts.map((n) => [n, []]));
  const loadMs: Record<number, number[]> = Object.fromEntries(counts.map((n) => [n, []]));
  for (let i = 0; i < opts.scaleRuns; i++) {
    progress(`synth scaling (${kind.key}) ${i + 1}/${opts.scaleRuns}`);
    for (const n of i % 2 === 0 ? counts : [...counts].reverse()) {
      const t = once(n);
      ms[n].push(t.total);
      loadMs[n].push(t.load);
    }
  }
  return { counts, ms, loadMs };
}
