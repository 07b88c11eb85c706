import { spawnSync } from 'child_process';
import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { buildSync } from 'esbuild';

// The synth app as `npm run synth` runs it: one esbuild bundle of src/main.ts, stderr a pipe.
describe('the synth app on a bad CLUSTER_CONFIG', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hostnet-main-'));
  const app = join(dir, 'synth-app.js');

  beforeAll(() => {
    buildSync({ entryPoints: [join(__dirname, '..', '..', 'src', 'main.ts')], bundle: true, platform: 'node', outfile: app, logLevel: 'warning' });
  });

  const run = (configFile: string) => spawnSync(process.execPath, [app], {
    cwd: dir,
    env: { ...process.env, CLUSTER_PROFILE: 'k2s', CLUSTER_CONFIG: configFile },
    encoding: 'utf8',
  });

  test('prints the whole message on one line to stderr and exits 1', () => {
    // GIVEN
    const missing = join(dir, 'missing.yaml');
    // WHEN
    const result = run(missing);
    // THEN
    expect(result.stderr).toBe(`cdk8s-hostnet: CLUSTER_CONFIG names ${missing}, which does not exist\n`);
    expect(result.stdout).toBe('');
    expect(result.status).toBe(1);
  });

  test('a YAML error keeps its line and column', () => {
    // GIVEN
    const file = join(dir, 'cluster.yaml');
    writeFileSync(file, 'podCidrs: [172.20.0.0/16]\npodCidrs: [172.20.0.0/16]\n');
    // WHEN
    const result = run(file);
    // THEN
    expect(result.stderr).toBe(`cdk8s-hostnet: ${file}:2:1: is not valid YAML: key "podCidrs" appears twice in one mapping\n`);
    expect(result.status).toBe(1);
  });
});
