// The benchmark (bench/run.ts) must keep running: its --smoke mode runs every phase with tiny
// durations on the real kernel, prints every ratio line, writes nothing and never fails on a target.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { listNamespaces, run } from './e2e/netns';
import { describeE2e } from './e2e/require-root';
import { staleSources } from '../bench/common';
import { expectedRatioKeys } from '../bench/ratios';

const REPO = join(__dirname, '..');
const BENCHMARKS = join(REPO, 'BENCHMARKS.md');

function digest(file: string): string {
  return existsSync(file) ? createHash('sha256').update(readFileSync(file)).digest('hex') : 'absent';
}

/**
 * The synth phase runs the compiled app. A fresh clone (CI: npm ci && npm test) has no lib/, and a
 * working tree may have a stale one: then compile src/ with tsc into a private directory inside the
 * repository (so node_modules resolve), not into lib/, which belongs to `projen compile`.
 */
async function compiledLib(): Promise<{ dir: string; temporary: boolean }> {
  const lib = join(REPO, 'lib');
  if (existsSync(join(lib, 'main.js')) && staleSources(join(REPO, 'src'), lib).length === 0) return { dir: lib, temporary: false };
  const dir = join(REPO, '.bench', `smoke-lib-${process.pid}`);
  const tsc = require.resolve('typescript/bin/tsc');
  const result = await run(process.execPath, [tsc, '-p', join(REPO, 'tsconfig.json'), '--outDir', dir], { timeoutMs: 120_000 });
  if (result.code !== 0) throw new Error(`compiling src/ for the smoke run failed:\n${result.stdout}${result.stderr}`);
  return { dir, temporary: true };
}

describeE2e('benchmark smoke run (bench/run.ts --smoke)', () => {
  test('runs every phase, prints every ratio line, exits 0 and leaves BENCHMARKS.md alone', async () => {
    const lib = await compiledLib();
    const before = digest(BENCHMARKS);
    try {
      const tsNode = require.resolve('ts-node/dist/bin.js');
      const result = await run(process.execPath, [tsNode, '-P', join(REPO, 'test', 'tsconfig.json'), '--transpile-only',
        join(REPO, 'bench', 'run.ts'), '--smoke', '--lib', lib.dir], { timeoutMs: 240_000 });
      const context = `exit ${result.code}\n--- stdout ---\n${result.stdout}\n--- stderr ---\n${result.stderr}`;
      if (result.code !== 0) throw new Error(`the smoke run failed: ${context}`);

      const printed = result.stdout.split('\n').filter((l) => l.startsWith('RATIO '));
      for (const key of expectedRatioKeys()) {
        const line = printed.find((l) => l.startsWith(`RATIO ${key} = `));
        if (!line) throw new Error(`no RATIO line for ${key}: ${context}`);
        expect(line).toMatch(/^RATIO \S+ = \d+\.\d{3} \[(info|target (>=|<=) [\d.]+: (PASS|MISS))\] \S/);
      }
      expect(printed).toHaveLength(expectedRatioKeys().length);
      expect(result.stdout).toMatch(/^bench: smoke run took [\d.]+ s; /m);
      expect(result.stdout).not.toMatch(/wrote BENCHMARKS\.md/);
      expect(digest(BENCHMARKS)).toBe(before);

      // every namespace of the run is gone
      const prefix = /namespaces of this run: (hnb\d+)-\*/.exec(result.stderr)?.[1];
      expect(prefix).toBeDefined();
      expect((await listNamespaces()).filter((ns) => ns.startsWith(`${prefix}-`))).toEqual([]);
    } finally {
      if (lib.temporary) rmSync(lib.dir, { recursive: true, force: true });
    }
  }, 400_000);
});
