import { Output } from './output';
import { readDist } from './read-dist';
import { UsageError, parseFlags } from './usage';
import { DiffRegion, diffPolicies } from '../explain/diff-policies';

/**
 * `diff OLD_DIST NEW_DIST`: the regions of traffic whose verdict changes. Exit 0, or with
 * --exit-code 1 when something changed (as `git diff --exit-code`).
 */
export function diffCommand(args: string[], io: Output): number {
  const { positional, flags } = parseFlags('diff', args, { 'json': 'boolean', 'exit-code': 'boolean' });
  if (positional.length !== 2) {
    throw new UsageError(`diff: expected OLD_DIST and NEW_DIST, got ${positional.length ? positional.map((p) => JSON.stringify(p)).join(' ') : 'none'}`, true);
  }
  const regions = diffPolicies(readDist(positional[0]), readDist(positional[1]));
  if (flags.has('json')) io.out(`${JSON.stringify({ changed: regions.length > 0, regions }, undefined, 2)}\n`);
  else io.out(formatRegions(regions));
  return flags.has('exit-code') && regions.length > 0 ? 1 : 0;
}

/** One heading per firewall, OS, scope, protocol and family; one line per region under it. */
export function formatRegions(regions: DiffRegion[]): string {
  if (regions.length === 0) return 'no verdict changes\n';
  const lines: string[] = [];
  let heading = '';
  for (const r of regions) {
    const next = `firewall ${r.firewall}, ${r.nodeOs} ${r.scope} ${r.protocol} ${r.family}:`;
    if (next !== heading) lines.push(next);
    heading = next;
    const ports = r.sourcePorts ? `  sport ${r.sourcePorts.join(',')}  dport ${r.destinationPorts!.join(',')}` : '';
    const addresses = (list: string[]) => (list[0] === 'any-except' ? `any except ${list.slice(1).join(',')}` : list.join(','));
    lines.push(`  ${r.before} -> ${r.after}  src ${addresses(r.sources)}  dst ${addresses(r.destinations)}${ports}`);
  }
  lines.push(`${regions.length} region${regions.length === 1 ? '' : 's'} changed verdict`);
  return `${lines.join('\n')}\n`;
}
