import { DROP_LOG_BURST, DROP_LOG_PER_MINUTE, dropLogPrefix, renderDropLogReader } from './drop-log';
import { HostNames, hostNames } from './host-names';
import { LinuxScripts } from './iptables';
import { NftSetRegistry } from './nft-sets';
import { LOCK_FUNCTIONS, LOCK_OR_EXIT, REPORT_FAILURE, SIGNAL_TRAPS, lockCheck, modeComment } from './node-lock';
import { denyIds, nftablesMetrics } from './rule-metrics';
import { comment, heredoc, shQuote } from './shell';
import { Cidr, hostOrCidr } from '../policy/cidr';
import { CompiledPolicy, CompiledRule, governedProtocols } from '../policy/compiled-policy';
import { FirewallMode } from '../policy/firewall-mode';
import { PortRange } from '../policy/port-range';
import { Protocol, RuleAction, TrafficScope, ALL_SCOPES } from '../policy/protocol';

/** Our base chains. Fixed names in the firewall's own table: operators type `nft list chain inet hostnet input`. */
const CHAINS: Record<TrafficScope, { chain: string; loopback?: string; what: string }> = {
  [TrafficScope.NODE_INGRESS]: { chain: 'input', loopback: 'iif "lo"', what: 'packets addressed to this node' },
  [TrafficScope.NODE_EGRESS]: { chain: 'output', loopback: 'oif "lo"', what: 'packets this node sends' },
  [TrafficScope.POD_FORWARD]: { chain: 'forward', what: 'packets this node routes for pods' },
};

/**
 * After conntrack (-200), so `ct state` and `ct original` work; after DNAT (dstnat, -100), so in
 * output `ip daddr` sees the endpoint, as iptables' filter table does; and after the other filter
 * tables (iptables-nft's at 0), so our order among them is fixed. Our accept ends only our table.
 */
const PRIORITY = 'filter + 10';

/**
 * Renders the policy for nftables: one table for both families (`inet hostnet`, or `inet
 * hostnet-<name>`: each firewall owns its own, and apply.sh and remove.sh touch only it), replaced as
 * a whole in one atomic `nft -f` transaction, long address and port lists in named interval sets.
 */
// `name` is a Kubernetes object name (validated by the construct): safe in a shell word.
export function renderNftables(policy: CompiledPolicy, name: string, mode: FirewallMode = FirewallMode.ENFORCE): LinuxScripts {
  const names = hostNames(name);
  const ownTable = `inet ${names.nftTable}`;
  const sets = new NftSetRegistry();
  const ids = denyIds(policy);
  const logPrefix = (id: string) => dropLogPrefix(name, ids, id, mode);
  const chains = ALL_SCOPES.map((scope) => renderChain(policy, scope, sets, mode, logPrefix));
  // sets first: rules reference them; a blank line between blocks
  const blocks = [...sets.render('  '), ...chains];
  const table = [`table ${ownTable} {`, ...blocks.flatMap((b, i) => (i === 0 ? b : ['', ...b])), '}'];
  return { apply: applyScript(policy, names, table, mode), remove: removeScript(name, ownTable), dropLog: renderDropLogReader(name, ids) };
}

/**
 * A rate-limited log rule for the drop log (drop-log.ts), then `counter drop`, or in audit mode
 * `counter accept` (the counter is what enforce would have dropped; accept ends only our table).
 */
function dropRules(match: string, id: string, mode: FirewallMode, logPrefix: (id: string) => string): string[] {
  return [`${match} limit rate ${DROP_LOG_PER_MINUTE}/minute burst ${DROP_LOG_BURST} packets log prefix "${logPrefix(id)}" level info`,
    `${match} counter ${mode === FirewallMode.AUDIT ? 'accept' : 'drop'} comment "${id}"`];
}

function renderChain(
  policy: CompiledPolicy, scope: TrafficScope, sets: NftSetRegistry, mode: FirewallMode,
  logPrefix: (id: string) => string,
): string[] {
  const { chain, loopback, what } = CHAINS[scope];
  const rule = (text: string) => `    ${text}`;
  const lines = [`  ${comment(`${chain}: ${what}`)}`, `  chain ${chain} {`,
    rule(`type filter hook ${chain} priority ${PRIORITY}; policy accept;`)];
  if (loopback) lines.push(rule(`${loopback} accept comment "loopback"`));
  // before replies: one protocol compare lets TCP (Linkerd's) leave without the conntrack lookup
  const governed = governedProtocols(policy);
  if (governed.length > 0 && !governed.includes(Protocol.ANY)) {
    const names = governed.flatMap((p) => (p === Protocol.ICMP ? ['icmp', 'ipv6-icmp'] : [p]));
    const list = names.length === 1 ? names[0] : `{ ${names.join(', ')} }`;
    lines.push(rule(`meta l4proto != ${list} accept comment "not-governed"`));
  }
  lines.push(rule('ct state established,related accept comment "replies"'));
  for (const r of policy.rules.filter((x) => x.scope === scope)) {
    lines.push(rule(comment(`${r.id} (${r.origin} ${r.action}): ${r.description}`)));
    for (const match of ruleMatches(r, sets)) {
      if (r.action === RuleAction.DENY) lines.push(...dropRules(match, r.id, mode, logPrefix).map(rule));
      // counted, so the metrics show what each exemption lets through
      else lines.push(rule(`${match} counter accept comment "${r.id}"`));
    }
  }
  for (const protocol of [Protocol.UDP, Protocol.TCP]) {
    if ((protocol === Protocol.UDP ? policy.udp : policy.tcp) === RuleAction.DENY) {
      lines.push(rule(comment(`default: deny ${protocol} that no rule above allowed${mode === FirewallMode.AUDIT ? ' (audit: count and log only)' : ''}`)));
      // one line per family, so the counters tell IPv4 from IPv6
      for (const family of ['ipv4', 'ipv6']) lines.push(...dropRules(`meta nfproto ${family} meta l4proto ${protocol}`, `default-deny-${protocol}`, mode, logPrefix).map(rule));
    }
  }
  lines.push('  }');
  return lines;
}

/**
 * The match parts of a rule's nft lines, usually one (never empty: a rule always names its family or
 * protocol); a long address list of several prefix lengths takes a line per length.
 */
function ruleMatches(r: CompiledRule, sets: NftSetRegistry): string[] {
  const sources = addressValues(r, 'saddr', r.sources, sets);
  const destinations = addressValues(r, 'daddr', r.destinations, sets);
  return sources.flatMap((source) => destinations.map((destination) => ruleMatch(r, source, destination, sets)));
}

function ruleMatch(r: CompiledRule, source: string | undefined, destination: string | undefined, sets: NftSetRegistry): string {
  const ip = r.family === 'ipv4' ? 'ip' : 'ip6';
  const parts: string[] = [];
  // ip/ip6 matches imply the family; without one, say it (0.0.0.0/0 means "IPv4 only")
  if (!source && !destination) parts.push(`meta nfproto ${r.family}`);
  const l4 = r.protocol === Protocol.ICMP ? (r.family === 'ipv4' ? 'icmp' : 'ipv6-icmp') : r.protocol;
  // a port match implies its protocol
  if (r.protocol !== Protocol.ANY && !r.sourcePorts && !r.destinationPorts) parts.push(`meta l4proto ${l4}`);
  if (source) parts.push(`${ip} saddr ${source}`);
  if (destination) parts.push(`${r.matchOriginalDestination ? 'ct original ' : ''}${ip} daddr ${destination}`);
  if (r.sourcePorts) parts.push(`${r.protocol} sport ${portValue(r, 'sport', r.sourcePorts, sets)}`);
  if (r.destinationPorts) parts.push(`${r.protocol} dport ${portValue(r, 'dport', r.destinationPorts, sets)}`);
  if (r.untrackedOnly) parts.push('ct state untracked');
  return parts.join(' ');
}

/** One address inline, several as sets; [undefined] for "any" (omitted or a /0). */
function addressValues(r: CompiledRule, field: 'saddr' | 'daddr', cidrs: Cidr[] | undefined, sets: NftSetRegistry): Array<string | undefined> {
  if (!cidrs) return [undefined];
  if (cidrs.length === 1) return [cidrs[0].prefix === 0 ? undefined : hostOrCidr(cidrs[0])];
  return sets.addressMatches(r.id, field, r.family, cidrs);
}

function portValue(r: CompiledRule, field: 'sport' | 'dport', ranges: PortRange[], sets: NftSetRegistry): string {
  return ranges.length === 1 ? ranges[0].toString() : sets.ports(r.id, field, ranges);
}

function applyScript(policy: CompiledPolicy, names: HostNames, table: string[], mode: FirewallMode): string {
  const name = names.name;
  const ownTable = `inet ${names.nftTable}`;
  return `#!/bin/sh
# cdk8s-hostnet NodeFirewall ${shQuote(name)}: apply the whole policy to this node (nftables backend).
# Generated by cdk8s synth: change the cdk8s app, not this file.
# Policy: udp ${policy.udp} by default, tcp ${policy.tcp} by default; ${policy.rules.length} rule lines.
${modeComment(mode)}
# Safe to run again and again, and at the same time as another run (one run at a time holds the
# node's lock): one nft transaction creates table ${ownTable} if missing, deletes it and defines it
# anew. nft -f is atomic, so a failing apply changes nothing; no other table is touched.
# Other tables still see every packet: our accept ends only our table, we add drops, never allows.
# Our chains hook in at priority ${PRIORITY}: after conntrack and DNAT, after other filter tables.
set -eu

${nftablesMetrics(names, denyIds(policy), mode)}

# \`apply.sh state\` prints our table without counters and set elements, and changes nothing: the
# agent compares it with what it printed after the apply, to find drift cheaply.
if [ "\${1:-}" = state ]; then
  nft --stateless --terse list table ${ownTable} 2>/dev/null || echo "missing table ${ownTable}"
  exit 0
fi

${LOCK_FUNCTIONS}

applied=false
have_rules() { nft list table ${ownTable} >/dev/null 2>&1; }
${REPORT_FAILURE}
on_exit() {
  if [ "$applied" != true ]; then report_failure nft; fi
  lock_release
}
${SIGNAL_TRAPS}
${LOCK_OR_EXIT}

${lockCheck('the rules')}
# (the rule set straight from the script: no program to pipe it through)
nft -f - ${heredoc('NFT', [`table ${ownTable} {}`, `delete table ${ownTable}`, ...table])}
applied=true
echo "hostnet: applied NodeFirewall ${name} (nftables)${mode === FirewallMode.AUDIT ? ' in AUDIT mode: nothing is dropped' : ''}"
`;
}

function removeScript(name: string, ownTable: string): string {
  return `#!/bin/sh
# cdk8s-hostnet NodeFirewall ${shQuote(name)}: remove what apply.sh added (table ${ownTable}) and nothing else.
set -eu

${LOCK_FUNCTIONS}

on_exit() { lock_release; }
${SIGNAL_TRAPS}
${LOCK_OR_EXIT}

# Creating the table first makes the delete succeed when it is already gone (nft 1.0.6 has no destroy).
nft -f - ${heredoc('NFT', [`table ${ownTable} {}`, `delete table ${ownTable}`])}
echo "hostnet: removed NodeFirewall ${name} (nftables)"
`;
}
