// Small helpers shared by the benchmark phases: timing, statistics, namespaces, options.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ExecOptions, ExecResult, deleteNamespace, listNamespaces, run } from '../test/e2e/netns';

export type { ExecResult };
export { deleteNamespace, run };

/** Repository root (bench/ sits directly below it). */
export const REPO = join(__dirname, '..');

/** How long and how often each phase measures: the full run, or the smoke run (tiny, about a minute in all). */
export interface BenchOptions {
  readonly smoke: boolean;
  /** Compiled library (lib/ by default): the synth app `main.js` and the modules the scaling phase loads. */
  readonly libDir: string;
  /** iperf3 seconds per TCP run (whole seconds: iperf3 3.12 truncates fractions). */
  readonly tcpSeconds: number;
  /** iperf3 seconds per UDP run. */
  readonly udpSeconds: number;
  /**
   * Rounds per flow. A round measures every configuration once, each side by side with a node
   * without policy; a ratio is the median over the rounds.
   */
  readonly throughputReps: number;
  /** Timed applies per variant (ours and bare, interleaved). */
  readonly applyIterations: number;
  /** Timed synth-app runs per profile (and module loads). */
  readonly synthRuns: number;
  /** Timed in-process synths per item count. */
  readonly scaleRuns: number;
  /** sockperf seconds per latency run (whole seconds; sockperf warms up for the first 0.4 s). */
  readonly latencySeconds: number;
  /** Exempted CIDRs of the scale phase's tiers 1k, 10k, 100k (the smoke run's are tiny). */
  readonly scaleCounts: readonly [number, number, number];
  /** Timed in-process synths per tier of the scale phase. */
  readonly scaleSynthRuns: number;
  /** Timed applies per backend and big tier of the scale phase. */
  readonly scaleApplyIterations: number;
}

const SMOKE_SCALE = { latencySeconds: 1, scaleCounts: [100, 300, 1000] as const, scaleSynthRuns: 1, scaleApplyIterations: 1 };
const FULL_SCALE = { latencySeconds: 2, scaleCounts: [1000, 10000, 100000] as const, scaleSynthRuns: 3, scaleApplyIterations: 3 };

export function benchOptions(smoke: boolean, libDir: string): BenchOptions {
  return smoke
    ? { smoke, libDir, tcpSeconds: 1, udpSeconds: 1, throughputReps: 1, applyIterations: 2, synthRuns: 1, scaleRuns: 1, ...SMOKE_SCALE }
    : { smoke, libDir, tcpSeconds: 2, udpSeconds: 2, throughputReps: 3, applyIterations: 11, synthRuns: 9, scaleRuns: 7, ...FULL_SCALE };
}


/** Thrown for a missing prerequisite: the message says what to do, no stack trace is needed. */
export class BenchSetupError extends Error {}

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Milliseconds since an arbitrary origin, sub-microsecond resolution. */
export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

export type RunOptions = ExecOptions;
export type Timed = { ms: number; result: ExecResult };

/** Runs a program and returns its wall time in ms; throws with its stderr on a non-zero exit. */
export async function timeRun(file: string, args: readonly string[], what: string, opts: RunOptions = {}): Promise<Timed> {
  const start = nowMs();
  const result = await run(file, args, opts);
  const ms = nowMs() - start;
  if (result.code !== 0) throw new Error(`${what} failed (exit ${result.code}): ${file} ${args.join(' ')}\n${result.stderr.trim() || result.stdout.trim()}`);
  return { ms, result };
}


/** `ip netns exec <ns> sh -c <cmd>`, throwing with stderr on failure. */
export async function nsSh(ns: string, cmd: string, what: string, opts: ExecOptions = {}): Promise<ExecResult> {
  const result = await run('ip', ['netns', 'exec', ns, 'sh', '-c', cmd], { timeoutMs: 60000, ...opts });
  if (result.code !== 0) throw new Error(`${what} failed in ${ns} (exit ${result.code}): ${cmd.slice(0, 200)}\n${result.stderr.trim()}`);
  return result;
}

/**
 * Namespace names are `hnb<pid>-<role>`: one run never touches another live run's namespaces, and a
 * run whose process is gone (crashed, killed) has its leftovers removed by the next run.
 */
export const NS_PREFIX = `hnb${process.pid}`;

export async function removeDeadRunsNamespaces(): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await listNamespaces()) {
    const m = /^hnb(\d+)-/.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid !== process.pid && processAlive(pid)) continue;
    await deleteNamespace(name);
    removed.push(name);
  }
  return removed;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Deletes every namespace of this run (agents inside are killed by deleteNamespace). */
export async function removeOwnNamespaces(): Promise<void> {
  const mine = (await listNamespaces()).filter((name) => name.startsWith(`${NS_PREFIX}-`));
  await Promise.all(mine.map(deleteNamespace));
}

/** Fails clearly unless `libDir` holds a compiled app that is not older than src/. */
export function checkLib(libDir: string, smoke: boolean): string | undefined {
  const main = join(libDir, 'main.js');
  if (!existsSync(main)) {
    throw new BenchSetupError(`${shown(main)} is missing: compile first (npx projen compile, or npx jsii --silence-warnings=reserved-word), or pass --lib <dir>`);
  }
  const stale = staleSources(join(REPO, 'src'), libDir);
  if (stale.length === 0) return undefined;
  const message = `${shown(libDir)} is older than ${stale.slice(0, 3).map((f) => relative(REPO, f)).join(', ')}${stale.length > 3 ? ` and ${stale.length - 3} more` : ''}: recompile (npx projen compile) so the synth timings measure the current code`;
  if (!smoke) throw new BenchSetupError(message);
  return message;
}

/** A path relative to the repository when it is inside it, else absolute. */
export function shown(path: string): string {
  const rel = relative(REPO, path);
  return rel === '' || rel.startsWith('..') ? path : rel;
}

/** The src/ .ts files whose compiled .js in libDir is missing or older. */
export function staleSources(srcDir: string, libDir: string): string[] {
  const stale: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        walk(path);
      } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
        const compiled = join(libDir, relative(srcDir, path)).replace(/\.ts$/, '.js');
        if (!existsSync(compiled) || statSync(compiled).mtimeMs < statSync(path).mtimeMs) stale.push(path);
      }
    }
  };
  walk(srcDir);
  return stale;
}

/** Writes a progress line to stderr (stdout carries the results and RATIO lines). */
export function progress(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}
