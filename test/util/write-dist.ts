// Writes a synthesized app to a dist/ folder as `cdk8s synth` does (one <chart>.k8s.yaml per
// chart, documents separated by ---), for tests of the cdk8s-hostnet command.
import { mkdirSync, writeFileSync } from 'fs';
import { join } from 'path';
import { stringify } from 'yaml';
import { synthApp } from './synth';

export function writeDist(dir: string, profile: string, overrides: Record<string, unknown> = {}): string {
  mkdirSync(dir, { recursive: true });
  for (const [id, objects] of Object.entries(synthApp(profile, overrides))) {
    writeFileSync(join(dir, `${id}.k8s.yaml`), objects.map((o) => stringify(o)).join('---\n'));
  }
  return dir;
}

if (require.main === module) {
  const [profile, dir, overrides] = process.argv.slice(2);
  writeDist(dir, profile, overrides ? JSON.parse(overrides) : {});
}
