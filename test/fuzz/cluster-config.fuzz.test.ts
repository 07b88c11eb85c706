// Fuzzes CLUSTER_CONFIG (issue 13): seeded random and hostile override files, each loaded and
// synthesized as `npm run synth` does (src/main.ts). Every case must end in exactly one of:
//  (a) a clean error: one line of at most 400 characters that starts with the file's path and
//      shows no JavaScript internals ("undefined", "is not a function", "NaN"...);
//  (b) an output: every object valid Kubernetes 1.28 (strict), every Linux script clean under
//      shellcheck as POSIX sh, every Windows script parsed by tree-sitter without ERROR/MISSING
//      nodes, and, for the first outputs (25 per run), apply.sh and remove.sh run on a real kernel
//      in a fresh network namespace: both exit 0 and nothing of ours is left.
//
// HOSTNET_FUZZ_SEED picks the seed (default 13: the issue), HOSTNET_FUZZ_RUNS the number of cases
// (default 300), HOSTNET_FUZZ_APPLIES the cap of real-kernel runs (default 25). A failure lists
// every failure class with its smallest input, the case number and the file it is kept in; rerun
// with the same seed to get the same cases. HOSTNET_FUZZ_DEBUG=1 prints each case's outcome.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import fc from 'fast-check';
import { applyAndRemove } from './apply-in-netns';
import { FuzzCase, fuzzCase } from './config-arbitraries';
import { Failure, FailureLog, Outcome, Problem, ScriptChecks, judgeCase, powershellProblemList, shellcheckProblems } from './fuzz-oracle';
import { describeE2e } from '../e2e/require-root';
import { registerCrdFiles } from '../util/k8s-schema';

const SEED = envInt('HOSTNET_FUZZ_SEED', 13);
const RUNS = envInt('HOSTNET_FUZZ_RUNS', 300);
const APPLIES = envInt('HOSTNET_FUZZ_APPLIES', 25);
/** A case that takes longer than this (load and synth, not the scripts' checks) is a failure: a file must not stall the synth. */
const SLOW_CASE_MS = 20_000;
/** Failure classes shrunk per failing run, and the time each may take. */
const MAX_SHRUNK_CLASSES = 10;
const SHRINK_MS = 5_000;
const CRDS = path.join(__dirname, '..', '..', 'crds', 'linkerd');

function envInt(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  if (!/^\d+$/.test(text)) throw new Error(`${name} must be a whole number, not ${JSON.stringify(text)}`);
  return Number(text);
}

interface Output {
  readonly index: number;
  readonly fuzzCase: FuzzCase;
  readonly file: string;
  readonly outcome: Extract<Outcome, { kind: 'output' }>;
}

describe(`CLUSTER_CONFIG fuzzer: seed ${SEED}, ${RUNS} cases`, () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hostnet-fuzz-'));
  const keep = path.join(tmp, 'cases'); // each case's file; only failing ones are kept after the run
  const checks = new ScriptChecks(tmp, Math.max(1, Math.min(4, os.cpus().length)));
  const failures = { message: new FailureLog(), shell: new FailureLog(), powershell: new FailureLog(), kernel: new FailureLog() };
  const failingFiles = new Set<string>();
  const failingCases = new Set<number>();
  const errorCases = new Set<number>();
  const outputs: Output[] = [];
  const timings: Array<{ ms: number; index: number; kind: string }> = [];
  const kinds = new Map<string, { errors: number; outputs: number }>();
  let applied = 0;
  const shellFindings: Array<Promise<void>> = [];
  const powershellFindings: Array<Promise<void>> = [];
  const started = Date.now();
  /** Seconds per phase, for the summary: CI's time budget for this file is about 90 s on 2 cores. */
  const phases: string[] = [];
  const phase = (name: string, since: number) => phases.push(`${name} ${((Date.now() - since) / 1000).toFixed(1)} s`);

  const fail = (log: FailureLog, failure: Omit<Failure, 'problem'>, problems: Problem[]) => {
    for (const problem of problems) log.add({ ...failure, problem });
    if (problems.length > 0) {
      failingFiles.add(failure.file);
      failingCases.add(failure.index);
    }
  };

  beforeAll(async () => {
    registerCrdFiles(...['server', 'network-authentication', 'authorization-policy', 'meshtls-authentication'].map((f) => path.join(CRDS, `${f}.yaml`)));
    fs.mkdirSync(keep);
    let index = 0;
    // fc.check, not fc.sample: case #i is run i of seed SEED, so `path` replays it (see the report)
    const details = await fc.check(fc.asyncProperty(fuzzCase(), async (c) => {
      const i = index++;
      const file = path.join(keep, `case-${i}.yaml`);
      const { outcome, ms, problems } = judgeCase(c, file, SLOW_CASE_MS);
      timings.push({ ms, index: i, kind: c.kind });
      const at = { index: i, fuzzCase: c, file };
      fail(failures.message, at, problems);
      const tally = kinds.get(c.kind) ?? { errors: 0, outputs: 0 };
      kinds.set(c.kind, tally);
      if (process.env.HOSTNET_FUZZ_DEBUG) console.log(`#${i} ${c.profile} ${c.kind}: ${outcome.kind === 'error' ? outcome.message.slice(0, 300) : 'output'}`);
      if (outcome.kind === 'error') {
        errorCases.add(i);
        tally.errors++;
        return true;
      }
      tally.outputs++;
      outputs.push({ ...at, outcome });
      for (const [name, script] of Object.entries(outcome.linux ?? {}).filter(([n]) => n.endsWith('.sh'))) {
        shellFindings.push(checks.shellcheck(script, name).then((findings) => fail(failures.shell, at, shellcheckProblems(findings, name))));
      }
      for (const [name, script] of Object.entries(outcome.windows ?? {}).filter(([n]) => n.endsWith('.ps1'))) {
        powershellFindings.push(checks.powershellProblems(script).then((found) => fail(failures.powershell, at, powershellProblemList(found, name))));
      }
      return true;
    }), { seed: SEED, numRuns: RUNS, endOnFailure: true });
    if (details.failed) throw new Error(`the fuzz loop itself failed: ${String(details.errorInstance ?? details.error)}`);
    phase('load and synth', started);
  }, Math.max(120_000, RUNS * 1000));

  afterAll(() => {
    // keep only the files of failing cases, for replay with CLUSTER_CONFIG=<file>
    for (const name of fs.readdirSync(tmp)) {
      if (name !== 'cases') fs.rmSync(path.join(tmp, name), { recursive: true, force: true });
    }
    for (const name of fs.readdirSync(keep)) {
      const file = path.join(keep, name);
      if (!failingFiles.has(file)) fs.rmSync(file, { force: true });
    }
    if (failingFiles.size === 0) fs.rmSync(tmp, { recursive: true, force: true });
    const slowest = [...timings].sort((a, b) => b.ms - a.ms)[0];
    const byKind = [...kinds.entries()].sort().map(([k, t]) => `${k} ${t.errors}/${t.outputs}`).join(', ');
    const badErrors = [...errorCases].filter((i) => failingCases.has(i)).length;
    const badOutputs = failingCases.size - badErrors;
    console.log([
      `fuzz: ${RUNS} cases (seed ${SEED}), ${errorCases.size - badErrors} clean errors, ${outputs.length - badOutputs} outputs `
        + `(${applied} applied on a real kernel)${failingCases.size > 0 ? `; FAILING: ${badErrors} errors not clean, ${badOutputs} outputs with problems` : ''}`
        + ` in ${((Date.now() - started) / 1000).toFixed(1)} s`,
      `  errors/outputs by generator: ${byKind}`,
      `  time: ${phases.join(', ')}`,
      `  ${checks.distinctShellScripts} distinct sh scripts checked, ${checks.distinctPowerShellScripts} distinct PowerShell scripts parsed`,
      process.env.HOSTNET_FUZZ_DEBUG ? `  shellcheck: ${checks.shellcheckTimes.reduce((t, x) => t + x.ms, 0)} ms in all; slowest ${JSON.stringify([...checks.shellcheckTimes].sort((a, b) => b.ms - a.ms).slice(0, 8))}` : '',
      slowest ? `  slowest case: #${slowest.index} (${slowest.kind}) ${slowest.ms} ms` : '',
      failingFiles.size > 0 ? `  ${failingFiles.size} failing inputs kept in ${keep}` : '',
    ].filter(Boolean).join('\n'));
  });

  const expectNoFailures = (log: FailureLog, what: string) => {
    if (log.size > 0) {
      throw new Error(log.report(`${log.size} class(es) of ${what} (seed ${SEED}; replay one case with HOSTNET_FUZZ_SEED=${SEED} and its number):`));
    }
  };

  /**
   * Shrinks the first case of a failure class with fast-check (replayed by its seed and path), as
   * long as the smaller case fails the same way; bounded in time, so a failing run stays short.
   */
  const shrink = async (log: FailureLog) => {
    const dir = path.join(tmp, 'shrink');
    fs.mkdirSync(dir, { recursive: true });
    for (const signature of log.signatures().slice(0, MAX_SHRUNK_CLASSES)) {
      const first = log.first(signature);
      let n = 0;
      let detail = '';
      const details = await fc.check(fc.property(fuzzCase(), (c) => {
        const found = judgeCase(c, path.join(dir, `shrink-${n++}.yaml`), SLOW_CASE_MS).problems.find((p) => p.signature === signature);
        if (found) detail = found.detail;
        return !found;
      }), { seed: SEED, path: String(first.index), numRuns: 1, interruptAfterTimeLimit: SHRINK_MS });
      if (details.failed && details.counterexample) log.setMinimal(signature, details.counterexample[0], detail);
    }
  };

  test('each case ends in a clean error (one line, starts with the file, no JS internals) or in valid Kubernetes 1.28 manifests', async () => {
    expect(errorCases.size + outputs.length).toBe(RUNS);
    const t0 = Date.now();
    if (failures.message.size > 0) await shrink(failures.message);
    if (failures.message.size > 0) phase('shrinking', t0);
    expectNoFailures(failures.message, 'cases that end in neither a clean error nor a valid output');
  }, 120_000);

  test('every Linux script of every output passes shellcheck as POSIX sh', async () => {
    const t0 = Date.now();
    await Promise.all(shellFindings);
    phase('shellcheck after the loop', t0);
    expectNoFailures(failures.shell, 'shellcheck findings');
  }, Math.max(120_000, RUNS * 1000));

  test('every Windows script of every output parses as PowerShell (no ERROR or MISSING node)', async () => {
    await Promise.all(powershellFindings);
    expectNoFailures(failures.powershell, 'PowerShell parse problems');
  }, Math.max(120_000, RUNS * 1000));

  describeE2e('real kernel', () => {
    test(`apply.sh and then remove.sh of the first ${APPLIES} outputs exit 0 in a fresh network namespace, and remove.sh leaves nothing`, async () => {
      const sample = outputs.filter((o) => o.outcome.linux?.['apply.sh'] && o.outcome.linux?.['remove.sh']).slice(0, APPLIES);
      // two at a time: each in its own namespace with its own lock directory
      const queue = sample.map((o, k) => ({ o, k }));
      const worker = async () => {
        for (let next = queue.shift(); next; next = queue.shift()) {
          const { o, k } = next;
          const mode = k % 2 === 0 ? 'nft' : 'legacy'; // alternating: both flavours every run
          const backend = o.outcome.config.linuxBackend ?? 'iptables';
          const problems = await applyAndRemove({
            ns: `hfz${process.pid % 100_000}-${k}`,
            mode,
            backend,
            apply: o.outcome.linux!['apply.sh'],
            remove: o.outcome.linux!['remove.sh'],
            dir: path.join(tmp, `kernel-${k}`),
          });
          applied++;
          fail(failures.kernel, o, problems.map((p) => ({
            signature: `real kernel (${backend}, HOSTNET_IPTABLES_MODE=${mode}): ${p.replace(/\d+/g, 'N').slice(0, 100)}`,
            detail: p,
          })));
        }
      };
      const t0 = Date.now();
      await Promise.all([worker(), worker()]);
      phase('real kernel', t0);
      expect(applied).toBe(sample.length);
      expectNoFailures(failures.kernel, 'real-kernel failures');
    }, 600_000);
  });
});
