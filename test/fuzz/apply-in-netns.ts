// Runs a fuzz output's apply.sh and remove.sh on a real kernel, in a fresh network namespace: both
// must exit 0, apply must leave our rules in place and remove must leave nothing of ours behind.
import * as fs from 'fs';
import * as path from 'path';
import { deleteNamespace, nsExec, nsExecOk, run } from '../e2e/netns';

export interface ApplyRun {
  readonly ns: string;
  /** The iptables flavour given as HOSTNET_IPTABLES_MODE (the nftables backend ignores it). */
  readonly mode: 'nft' | 'legacy';
  readonly backend: 'iptables' | 'nftables';
  readonly apply: string;
  readonly remove: string;
  /** A directory of this run's own (lock directory, script files). */
  readonly dir: string;
}

/** Problems found, as `what: detail`; empty when apply and remove both did their job. */
export async function applyAndRemove(r: ApplyRun): Promise<string[]> {
  fs.mkdirSync(r.dir, { recursive: true });
  const applyFile = path.join(r.dir, 'apply.sh');
  const removeFile = path.join(r.dir, 'remove.sh');
  fs.writeFileSync(applyFile, r.apply);
  fs.writeFileSync(removeFile, r.remove);
  const env = [`HOSTNET_LOCK_DIR=${path.join(r.dir, 'lock')}`, `HOSTNET_IPTABLES_MODE=${r.mode}`, `XTABLES_LOCKFILE=${path.join(r.dir, 'xtables.lock')}`].join(' ');
  await deleteNamespace(r.ns); // left over from a killed run
  const added = await run('ip', ['netns', 'add', r.ns]);
  if (added.code !== 0) return [`ip netns add ${r.ns}: ${added.stderr.trim()}`];
  try {
    await nsExecOk(r.ns, 'ip link set lo up');
    const problems: string[] = [];
    const applied = await nsExec(r.ns, `${env} sh ${applyFile}`, { timeoutMs: 120_000 });
    if (applied.code !== 0) return [`apply.sh exited ${applied.code}: ${tail(applied.stderr)}`];
    const ours = await leftovers(r.ns);
    const expected = r.backend === 'nftables' ? 'table inet hostnet' : `iptables-${r.mode}-save: HOSTNET`;
    if (!ours.some((l) => l.startsWith(expected))) problems.push(`apply.sh exited 0 but left no ${expected}: found ${JSON.stringify(ours)}`);
    const removed = await nsExec(r.ns, `${env} sh ${removeFile}`, { timeoutMs: 120_000 });
    if (removed.code !== 0) problems.push(`remove.sh exited ${removed.code}: ${tail(removed.stderr)}`);
    const left = await leftovers(r.ns);
    if (left.length > 0) problems.push(`remove.sh left ${left.join('; ')}`);
    return problems;
  } finally {
    await deleteNamespace(r.ns);
  }
}

/**
 * What of ours is in a namespace: HOSTNET chains and rules (both flavours, both families), ipsets
 * (hostnet-*, or hn.<name>.* for a firewall not named hostnet), the inet hostnet[-<name>] table.
 */
async function leftovers(ns: string): Promise<string[]> {
  const found: string[] = [];
  for (const save of ['iptables-legacy-save', 'ip6tables-legacy-save', 'iptables-nft-save', 'ip6tables-nft-save']) {
    const { stdout } = await nsExec(ns, `${save} 2>/dev/null`);
    const lines = stdout.split('\n').filter((l) => l.includes('HOSTNET'));
    if (lines.length > 0) found.push(`${save}: HOSTNET (${lines.length} lines, e.g. ${lines[0]})`);
  }
  const sets = (await nsExec(ns, 'ipset list -n 2>/dev/null')).stdout.split('\n').filter((s) => s.startsWith('hostnet-') || s.startsWith('hn.'));
  if (sets.length > 0) found.push(`ipsets ${sets.join(', ')}`);
  const tables = (await nsExec(ns, 'nft list tables 2>/dev/null')).stdout.split('\n').filter((t) => /^table inet hostnet(-[a-z0-9-]+)?$/.test(t));
  found.push(...tables);
  return found;
}

function tail(text: string): string {
  const lines = text.trim().split('\n');
  return lines.slice(-4).join(' | ').slice(0, 600);
}
