import { LinuxSet, LinuxSetRegistry, SET_PREFIX, fitsMultiport } from './linux-sets';
import { comment, heredoc, shQuote } from './shell';
import { Family, hostOrCidr } from '../policy/cidr';
import { CompiledPolicy, CompiledRule, governedProtocols } from '../policy/compiled-policy';
import { PortRange } from '../policy/port-range';
import { Protocol, RuleAction, TrafficScope, ALL_SCOPES } from '../policy/protocol';

/** The scripts a Linux node runs: apply the whole policy, or remove all of it. */
export interface LinuxScripts {
  readonly apply: string;
  readonly remove: string;
}

/** Our chains and the built-in chain each hangs off. Fixed names: operators grep for them. */
const CHAINS: Record<TrafficScope, { builtin: string; chain: string; loopback?: string; what: string }> = {
  [TrafficScope.NODE_INGRESS]: { builtin: 'INPUT', chain: 'HOSTNET-INPUT', loopback: '-i lo', what: 'packets addressed to this node' },
  [TrafficScope.NODE_EGRESS]: { builtin: 'OUTPUT', chain: 'HOSTNET-OUTPUT', loopback: '-o lo', what: 'packets this node sends' },
  [TrafficScope.POD_FORWARD]: { builtin: 'FORWARD', chain: 'HOSTNET-FORWARD', what: 'packets this node routes for pods' },
};

/** Comment on the jumps we insert: how remove.sh finds exactly ours. */
const JUMP_TAG = 'cdk8s-hostnet';

/**
 * Renders the policy for iptables (legacy or nft, chosen on the node): own chains applied with one
 * atomic `iptables-restore --noflush` per family, address and long port lists in ipsets.
 */
// `name` is a Kubernetes object name (validated by the construct): safe in a shell word.
export function renderIptables(policy: CompiledPolicy, name: string): LinuxScripts {
  const sets = new LinuxSetRegistry();
  const v4 = renderFamily(policy, 'ipv4', sets);
  const v6 = renderFamily(policy, 'ipv6', sets);
  return { apply: applyScript(policy, name, v4, v6, sets.all()), remove: removeScript(name) };
}

function renderFamily(policy: CompiledPolicy, family: Family, sets: LinuxSetRegistry): string[] {
  const lines = ['*filter', ...ALL_SCOPES.map((s) => `:${CHAINS[s].chain} - [0:0]`)];
  const governed = governedProtocols(policy);
  for (const scope of ALL_SCOPES) {
    const { chain, loopback, what } = CHAINS[scope];
    lines.push('', comment(`${chain}: ${what}`));
    if (loopback) lines.push(`-A ${chain} ${loopback} -m comment --comment loopback -j RETURN`);
    lines.push(`-A ${chain} -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment replies -j RETURN`);
    if (governed.length === 1 && governed[0] !== Protocol.ANY) {
      lines.push(`-A ${chain} ! -p ${protocolName(governed[0], family)} -m comment --comment not-governed -j RETURN`);
    }
    for (const rule of policy.rules.filter((r) => r.scope === scope && r.family === family)) {
      lines.push(comment(`${rule.id} (${rule.origin} ${rule.action}): ${rule.description}`));
      for (const match of ruleMatches(rule, family, sets)) {
        lines.push(`-A ${chain} ${match}-m comment --comment ${rule.id} -j ${rule.action === RuleAction.DENY ? 'DROP' : 'RETURN'}`);
      }
    }
    for (const protocol of [Protocol.UDP, Protocol.TCP]) {
      if ((protocol === Protocol.UDP ? policy.udp : policy.tcp) === RuleAction.DENY) {
        lines.push(comment(`default: deny ${protocol} that no rule above allowed`));
        lines.push(`-A ${chain} -p ${protocol} -m comment --comment default-deny-${protocol} -j DROP`);
      }
    }
  }
  // COMMIT comes from apply.sh, after the jumps it finds missing
  return lines;
}

function protocolName(protocol: Protocol, family: Family): string {
  if (protocol === Protocol.ICMP) return family === 'ipv4' ? 'icmp' : 'ipv6-icmp';
  return protocol;
}

/** The match part of each iptables line a rule needs (several only for pre-DNAT destinations). */
function ruleMatches(rule: CompiledRule, family: Family, sets: LinuxSetRegistry): string[] {
  const proto = rule.protocol === Protocol.ANY ? '' : `-p ${protocolName(rule.protocol, family)} `;
  const source = rule.sources ? addressMatch(rule.sources, '-s', 'src', family, sets) : '';
  let rest = '';
  if (rule.sourcePorts) rest += portMatch(rule, rule.sourcePorts, 'sport', 'src', family, sets);
  if (rule.destinationPorts) rest += portMatch(rule, rule.destinationPorts, 'dport', 'dst', family, sets);
  if (rule.untrackedOnly) rest += '-m conntrack --ctstate UNTRACKED ';
  if (!rule.destinations) return [proto + source + rest];
  // conntrack's original-destination match takes one address: one line per Service IP (few)
  if (rule.matchOriginalDestination) {
    return rule.destinations.map((d) => `${proto}${source}${rest}-m conntrack --ctorigdst ${hostOrCidr(d)} `);
  }
  return [proto + source + addressMatch(rule.destinations, '-d', 'dst', family, sets) + rest];
}

function addressMatch(cidrs: CompiledRule['sources'] & {}, flag: string, dir: string, family: Family, sets: LinuxSetRegistry): string {
  if (cidrs.length === 1) return cidrs[0].prefix === 0 ? '' : `${flag} ${hostOrCidr(cidrs[0])} `;
  return `-m set --match-set ${sets.addresses(family, cidrs).name} ${dir} `;
}

function portMatch(rule: CompiledRule, ranges: PortRange[], flag: string, dir: string, family: Family, sets: LinuxSetRegistry): string {
  const proto = rule.protocol;
  if (ranges.length === 1) return `-m ${proto} --${flag} ${ranges[0].toString().replace('-', ':')} `;
  if (fitsMultiport(ranges)) return `-m multiport --${flag}s ${ranges.map((r) => r.toString().replace('-', ':')).join(',')} `;
  return `-m set --match-set ${sets.ports(family, ranges).name} ${dir} `;
}

/** Shell that picks iptables-legacy or iptables-nft the way iptables-wrapper does (kubelet's hint chains first). */
const DETECT_MODE = `# iptables-legacy or iptables-nft: whichever kubelet and kube-proxy use, as iptables-wrapper decides
mode="\${HOSTNET_IPTABLES_MODE:-auto}"
# No legacy table in this network namespace: nothing uses iptables-legacy, and asking
# iptables-legacy-save would create empty legacy tables that every packet then crosses.
# (proc files report size 0: read a line to see whether one exists)
legacy_tables() {
  for names in /proc/net/ip_tables_names /proc/net/ip6_tables_names; do
    if [ -r "$names" ] && read -r _ < "$names"; then return 0; fi
  done
  return 1
}
if [ "$mode" = auto ] && ! legacy_tables; then mode=nft; fi
if [ "$mode" = auto ]; then
  hints() { { "iptables-$1-save" -t mangle; "ip6tables-$1-save" -t mangle; } 2>/dev/null | grep -c -E '^:KUBE-(IPTABLES-HINT|KUBELET-CANARY)' || true; }
  rules() { { "iptables-$1-save"; "ip6tables-$1-save"; } 2>/dev/null | grep -c '^-' || true; }
  if [ "$(hints legacy)" -gt "$(hints nft)" ]; then mode=legacy
  elif [ "$(hints nft)" -gt 0 ]; then mode=nft
  elif [ "$(rules legacy)" -gt "$(rules nft)" ]; then mode=legacy
  else mode=nft
  fi
fi
case "$mode" in
  legacy|nft) ;;
  *) echo "hostnet: HOSTNET_IPTABLES_MODE must be auto, legacy or nft, not '$mode'" >&2; exit 2 ;;
esac
# IPv6 rules only where the kernel has IPv6
ipv6=false
if [ -e /proc/net/if_inet6 ]; then ipv6=true; fi`;

function applyScript(policy: CompiledPolicy, name: string, v4: string[], v6: string[], sets: LinuxSet[]): string {
  const jumps = ALL_SCOPES.map((s) => `${CHAINS[s].builtin}:${CHAINS[s].chain}`).join(' ');
  const setLines = sets.flatMap((set) => {
    const type = set.kind === 'ports' ? 'bitmap:port range 1-65535' : `hash:net family ${set.family === 'ipv4' ? 'inet' : 'inet6'}`;
    const tmp = `${set.name}-n`;
    // fill a scratch set and swap it in: the live set is never empty, drift is repaired
    return [`create ${set.name} ${type}`, `create ${tmp} ${type}`, `flush ${tmp}`,
      ...set.members.map((m) => `add ${tmp} ${m}`), `swap ${tmp} ${set.name}`, `destroy ${tmp}`];
  });
  // after a success, the sets this policy names stay
  const keepCase = sets.length === 0 ? '' : `${sets.map((set) => `true:${set.name}`).join('|')}) ;;\n      `;
  return `#!/bin/sh
# cdk8s-hostnet NodeFirewall ${shQuote(name)}: apply the whole policy to this node (iptables backend).
# Generated by cdk8s synth: change the cdk8s app, not this file.
# Policy: udp ${policy.udp} by default, tcp ${policy.tcp} by default; ${policy.rules.length} rule lines.
# Safe to run again and again: our own chains, and the jumps to them that are missing, are written
# in one atomic iptables-restore --noflush per family; nothing owned by kube-proxy or the CNI is touched.
set -eu

${DETECT_MODE}

# Sets of ours that no rule uses any more are destroyed on the way out: after a success, those this
# policy does not name; after a failure, any (the kernel refuses to destroy a set in use, so the sets
# of the rules still in force stay).
applied=false
cleanup_sets() {
  command -v ipset >/dev/null 2>&1 || return 0
  for set in $(ipset list -n 2>/dev/null); do
    case "$applied:$set" in
      ${keepCase}*:${SET_PREFIX}*) ipset destroy "$set" 2>/dev/null || true ;;
    esac
  done
}
trap cleanup_sets EXIT
${sets.length === 0 ? '' : `
# Address and port lists: one set lookup per packet, however long the list.
ipset restore -exist ${heredoc('SETS', setLines)}
`}
rules_ipv4() {
  cat ${heredoc('RULES', v4)}
}

rules_ipv6() {
  cat ${heredoc('RULES', v6)}
}

# The jumps to our chains that a family lacks, first in each built-in chain: one iptables-save
# instead of a check per jump, and they go into the same transaction as the chains.
missing_jumps() {
  # (stderr: iptables-nft-save warns about legacy tables on hosts that have both)
  saved=$("$1-$mode-save" -t filter 2>/dev/null)
  for pair in ${jumps}; do
    builtin=\${pair%%:*}
    chain=\${pair#*:}
    case "$saved" in
      *"-A $builtin -m comment --comment ${JUMP_TAG} -j $chain"*) ;;
      *) echo "-I $builtin 1 -m comment --comment ${JUMP_TAG} -j $chain" ;;
    esac
  done
}
v4_jumps=$(missing_jumps iptables)
v6_jumps=
if [ "$ipv6" = true ]; then v6_jumps=$(missing_jumps ip6tables); fi

# IPv6 is checked first, then each family commits atomically: a bad rule set changes nothing.
if [ "$ipv6" = true ]; then
  { rules_ipv6; echo "$v6_jumps"; echo COMMIT; } | "ip6tables-$mode-restore" -w --noflush --test
fi
{ rules_ipv4; echo "$v4_jumps"; echo COMMIT; } | "iptables-$mode-restore" -w --noflush
if [ "$ipv6" = true ]; then
  { rules_ipv6; echo "$v6_jumps"; echo COMMIT; } | "ip6tables-$mode-restore" -w --noflush
fi
applied=true
echo "hostnet: applied NodeFirewall ${name} (iptables-$mode)"
`;
}

function removeScript(name: string): string {
  const pairs = ALL_SCOPES.map((s) => `${CHAINS[s].builtin}:${CHAINS[s].chain}`).join(' ');
  return `#!/bin/sh
# cdk8s-hostnet NodeFirewall ${shQuote(name)}: remove what apply.sh added (the jumps tagged
# ${JUMP_TAG}, the HOSTNET-* chains, the ${SET_PREFIX}* sets) and nothing else.
set -eu

${DETECT_MODE}

families=iptables
if [ "$ipv6" = true ]; then families="iptables ip6tables"; fi
for family in $families; do
  for pair in ${pairs}; do
    builtin=\${pair%%:*}
    chain=\${pair#*:}
    while "$family-$mode" -w -D "$builtin" -m comment --comment ${JUMP_TAG} -j "$chain" 2>/dev/null; do :; done
    if "$family-$mode" -w -F "$chain" 2>/dev/null; then "$family-$mode" -w -X "$chain"; fi
  done
done
if command -v ipset >/dev/null 2>&1; then
  for set in $(ipset list -n 2>/dev/null); do
    case "$set" in ${SET_PREFIX}*) ipset destroy "$set" ;; esac
  done
fi
echo "hostnet: removed NodeFirewall ${name} (iptables-$mode)"
`;
}
