import { existsSync, readFileSync } from 'fs';
import { dirname, join } from 'path';

/**
 * This library's version, from its package.json (found from lib/, from the bundled synth app, or
 * from a user's node_modules): the agents report it in hostnet_policy_info.
 */
export function libraryVersion(): string {
  for (let dir = __dirname; dir !== dirname(dir); dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
    if (pkg.name === 'cdk8s-hostnet' && typeof pkg.version === 'string') return pkg.version;
  }
  return 'unknown';
}
