import { DROP_LOG_BURST, DROP_LOG_PER_MINUTE, dropLogPrefix, renderDropLogReader } from './drop-log';
import { HostNames, hostNames } from './host-names';
import { LinuxSet, LinuxSetRegistry, fitsMultiport } from './linux-sets';
import { LOCK_FUNCTIONS, LOCK_OR_EXIT, REPORT_FAILURE, SIGNAL_TRAPS, lockCheck, modeComment } from './node-lock';
import { denyIds, iptablesMetrics } from './rule-metrics';
import { comment, expandingHeredoc, shQuote, splicingHeredoc } from './shell';
import { Family, hostOrCidr } from '../policy/cidr';
import { CompiledPolicy, CompiledRule, governedProtocols } from '../policy/compiled-policy';
import { FirewallMode } from '../policy/firewall-mode';
import { PortRange } from '../policy/port-range';
import { Protocol, RuleAction, TrafficScope, ALL_SCOPES } from '../policy/protocol';

/** The scripts a Linux node runs: apply the whole policy, or remove all of it. */
export interface LinuxScripts {
  readonly apply: string;
  readonly remove: string;
  /** droplog.sh: prints the packets the rules dropped (or would drop) from the kernel log. */
  readonly dropLog: string;
}

/** Our chains and the built-in chain each hangs off. Names from the firewall's name: operators grep for them. */
type Chains = Record<TrafficScope, { builtin: string; chain: string; loopback?: string; what: string }>;

function chainsOf(names: HostNames): Chains {
  return {
    [TrafficScope.NODE_INGRESS]: { builtin: 'INPUT', chain: names.chains.input, loopback: '-i lo', what: 'packets addressed to this node' },
    [TrafficScope.NODE_EGRESS]: { builtin: 'OUTPUT', chain: names.chains.output, loopback: '-o lo', what: 'packets this node sends' },
    [TrafficScope.POD_FORWARD]: { builtin: 'FORWARD', chain: names.chains.forward, what: 'packets this node routes for pods' },
  };
}

/**
 * An extended regular expression (grep -E) for the iptables-save lines that name one of our chains
 * exactly: its declaration, its rules, and rules that jump to it. Another firewall's chain
 * (HOSTNET-<NAME>-INPUT) never matches, though it may contain ours as a substring.
 */
function ownLinesRegex(names: HostNames): string {
  return `(^:|^-A | -[jg] )(${Object.values(names.chains).join('|')})( |$)`;
}

/**
 * Renders the policy for iptables (legacy or nft, chosen on the node): own chains applied with one
 * atomic `iptables-restore --noflush` per family, address and long port lists in ipsets.
 */
// `name` is a Kubernetes object name (validated by the construct): safe in a shell word.
export function renderIptables(policy: CompiledPolicy, name: string, mode: FirewallMode = FirewallMode.ENFORCE): LinuxScripts {
  const names = hostNames(name);
  const sets = new LinuxSetRegistry(names);
  const ids = denyIds(policy);
  const logPrefix = (id: string) => dropLogPrefix(name, ids, id, mode);
  const v4 = renderFamily(policy, 'ipv4', sets, mode, chainsOf(names), logPrefix);
  const v6 = renderFamily(policy, 'ipv6', sets, mode, chainsOf(names), logPrefix);
  return { apply: applyScript(policy, names, v4, v6, sets.all(), mode), remove: removeScript(names), dropLog: renderDropLogReader(name, ids) };
}

/**
 * A rate-limited log line for the drop log (drop-log.ts), then DROP, or in audit mode RETURN (the
 * line's counter is what enforce would have dropped), both with the same match.
 */
function dropLines(match: string, id: string, mode: FirewallMode, logPrefix: (id: string) => string): string[] {
  return [`-A ${match}-m limit --limit ${DROP_LOG_PER_MINUTE}/minute --limit-burst ${DROP_LOG_BURST} -j LOG --log-prefix "${logPrefix(id)}"`,
    `-A ${match}-m comment --comment ${id} -j ${mode === FirewallMode.AUDIT ? 'RETURN' : 'DROP'}`];
}

function renderFamily(
  policy: CompiledPolicy, family: Family, sets: LinuxSetRegistry, mode: FirewallMode, chains: Chains,
  logPrefix: (id: string) => string,
): string[] {
  const lines = ['*filter', ...ALL_SCOPES.map((s) => `:${chains[s].chain} - [0:0]`)];
  const governed = governedProtocols(policy);
  for (const scope of ALL_SCOPES) {
    const { chain, loopback, what } = chains[scope];
    lines.push('', comment(`${chain}: ${what}`));
    if (loopback) lines.push(`-A ${chain} ${loopback} -m comment --comment loopback -j RETURN`);
    // before replies: one protocol compare lets TCP (Linkerd's) leave without the conntrack lookup
    if (governed.length === 1 && governed[0] !== Protocol.ANY) {
      lines.push(`-A ${chain} ! -p ${protocolName(governed[0], family)} -m comment --comment not-governed -j RETURN`);
    }
    lines.push(`-A ${chain} -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment replies -j RETURN`);
    for (const rule of policy.rules.filter((r) => r.scope === scope && r.family === family)) {
      lines.push(comment(`${rule.id} (${rule.origin} ${rule.action}): ${rule.description}`));
      for (const match of ruleMatches(rule, family, sets)) {
        if (rule.action === RuleAction.DENY) lines.push(...dropLines(`${chain} ${match}`, rule.id, mode, logPrefix));
        else lines.push(`-A ${chain} ${match}-m comment --comment ${rule.id} -j RETURN`);
      }
    }
    for (const protocol of [Protocol.UDP, Protocol.TCP]) {
      if ((protocol === Protocol.UDP ? policy.udp : policy.tcp) === RuleAction.DENY) {
        lines.push(comment(`default: deny ${protocol} that no rule above allowed${mode === FirewallMode.AUDIT ? ' (audit: count and log only)' : ''}`));
        lines.push(...dropLines(`${chain} -p ${protocol} `, `default-deny-${protocol}`, mode, logPrefix));
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

/** Shell: true when this network namespace has a legacy iptables table (read without creating one). */
const LEGACY_TABLES = `# No legacy table in this network namespace: nothing uses iptables-legacy, and asking
# iptables-legacy-save would create empty legacy tables that every packet then crosses.
# (proc files report size 0: read a line to see whether one exists)
legacy_tables() {
  for names in /proc/net/ip_tables_names /proc/net/ip6_tables_names; do
    if [ -r "$names" ] && read -r _ < "$names"; then return 0; fi
  done
  return 1
}
# IPv6 rules only where the kernel has IPv6
ipv6=false
if [ -e /proc/net/if_inet6 ]; then ipv6=true; fi`;

/** Shell that picks iptables-legacy or iptables-nft the way iptables-wrapper does (kubelet's hint chains first). */
const DETECT_MODE = `# iptables-legacy or iptables-nft: whichever kubelet and kube-proxy use, as iptables-wrapper decides
mode="\${HOSTNET_IPTABLES_MODE:-auto}"
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
esac`;

/** Seconds iptables-legacy waits for the xtables lock that kube-proxy and the CNI also take. */
const XTABLES_WAIT = 10;

function applyScript(policy: CompiledPolicy, names: HostNames, v4: string[], v6: string[], sets: LinuxSet[], mode: FirewallMode): string {
  const { name, jumpTag, setPrefix } = names;
  const chains = chainsOf(names);
  const jumps = ALL_SCOPES.map((s) => `${chains[s].builtin}:${chains[s].chain}`).join(' ');
  const setLines = sets.flatMap((set) => {
    const type = set.kind === 'ports' ? 'bitmap:port range 1-65535' : `hash:net family ${set.family === 'ipv4' ? 'inet' : 'inet6'} maxelem ${maxelem(set)}`;
    // a scratch set unique to this run, filled and swapped in: the live set is never partial
    const tmp = `${set.name}-\${scratch}`;
    return [`create ${set.name} ${type}`, `create ${tmp} ${type}`,
      ...set.members.map((m) => `add ${tmp} ${m}`), `swap ${tmp} ${set.name}`, `destroy ${tmp}`];
  });
  const ownChains = Object.values(names.chains).join(' ');
  const ownRuleArms = Object.values(names.chains).map((c) => `"-A ${c} "*`).join('|');
  // after a success, the sets this policy names stay
  const keepCase = sets.length === 0 ? '' : `${sets.map((set) => `true:${set.name}`).join('|')}) ;;\n      `;
  return `#!/bin/sh
# cdk8s-hostnet NodeFirewall ${shQuote(name)}: apply the whole policy to this node (iptables backend).
# Generated by cdk8s synth: change the cdk8s app, not this file.
# Policy: udp ${policy.udp} by default, tcp ${policy.tcp} by default; ${policy.rules.length} rule lines.
${modeComment(mode)}
# Safe to run again and again, and at the same time as another run: one run at a time holds the
# node's lock; our own chains, and the jumps to them that are missing, are written in one atomic
# iptables-restore --noflush per family; nothing owned by kube-proxy or the CNI is touched.
set -eu

${LEGACY_TABLES}
${DETECT_MODE}

# \`apply.sh state\` prints what of ours is in force (rule lines, set names and sizes) and changes
# nothing: the agent compares it with what it printed after the apply, to find drift cheaply.
if [ "\${1:-}" = state ]; then
  "iptables-$mode-save" -t filter 2>/dev/null | grep -E -e '${ownLinesRegex(names)}' || true
  if [ "$ipv6" = true ]; then "ip6tables-$mode-save" -t filter 2>/dev/null | grep -E -e '${ownLinesRegex(names)}' || true; fi
  our_sets="${sets.map((set) => set.name).join(' ')}"
  for set in $our_sets; do
    ipset list -t "$set" 2>/dev/null | grep -e '^Name:' -e '^Number of entries:' || echo "missing set $set"
  done
  exit 0
fi

${iptablesMetrics(names, denyIds(policy), mode)}

${LOCK_FUNCTIONS}

# On the way out, whatever happened: sets of ours that no rule uses any more are destroyed (after a
# success, those this policy does not name; after a failure, any: the kernel refuses to destroy a
# set in use, so the sets of the rules in force stay), then the lock is released. Only the lock's
# holder touches sets: no other run is half-way through an apply then.
applied=false
# the sets there were before this run's ipset restore, which lists them into a file of this run
# in the lock directory (removed with the lock), when it ran to the end
listed_by_restore=false
cleanup_sets() {
  command -v ipset >/dev/null 2>&1 || return 0
  # after a success the sets are those listed before plus this policy's (kept); else list them now
  listed=
  if [ "$applied" = true ] && [ "$listed_by_restore" = true ]; then
    while IFS= read -r set; do listed="$listed $set"; done < "$rec.sets"
  else
    listed=$(ipset list -n 2>/dev/null) || listed=
  fi
  for set in $listed; do
    case "$applied:$set" in
      ${keepCase}*:${setPrefix}*) ipset destroy "$set" 2>/dev/null || true ;;
    esac
  done
}
have_rules() { "iptables-$mode-save" -t filter 2>/dev/null | grep -q -E -e ' -j ${names.chains.input}( |$)'; }
${REPORT_FAILURE}
# the ipset restore and the IPv6 restore while they run in the background
sets_pid=
v6_pid=
on_exit() {
  # what runs in the background settles first: then the clean-up and the report see the end state
  if [ -n "$sets_pid$v6_pid" ]; then wait 2>/dev/null || true; fi
  if [ "$locked" = true ]; then cleanup_sets; fi
  if [ "$applied" != true ]; then report_failure "iptables-$mode-save"; fi
  lock_release
}
${SIGNAL_TRAPS}
${LOCK_OR_EXIT}
${sets.length === 0 ? '' : `
# Address and port lists: one set lookup per packet, however long the list. The scratch sets
# carry this run's pid in their names. The same ipset run first lists the sets there are, for the
# clean-up on the way out. It runs in the background while the rules in force are read below
# (they do not touch sets); the rules are committed only once it has succeeded.
scratch=$$
${lockCheck('the ipsets')}
ipset restore -exist > "$rec.sets" ${expandingHeredoc('SETS', ['list -n', ...setLines], ['${scratch}']).replace('<<SETS', '<<SETS &')}
sets_pid=$!
`}
# The jumps to our chains that a family lacks go first in each built-in chain, in the same
# transaction as the chains; a jump found more than once (an older release raced) is deleted
# down to one. One iptables-save per family, read by the shell: no program per jump.
nl='
'
jump_fixes() {
  fixes=
  for pair in ${jumps}; do
    builtin=\${pair%%:*}
    chain=\${pair#*:}
    jump="-A $builtin -m comment --comment ${jumpTag} -j $chain"
    case "$saved" in
      # found twice or more (rare): count exactly
      *"$nl$jump$nl"*"$jump$nl"*) count=$(printf '%s\\n' "$saved" | grep -c -x -F -e "$jump" || true) ;;
      *"$nl$jump$nl"*) count=1 ;;
      *) count=0 ;;
    esac
    if [ "$count" -eq 0 ]; then fixes="$fixes-I $builtin 1 -m comment --comment ${jumpTag} -j $chain$nl"; fi
    while [ "$count" -gt 1 ]; do fixes="$fixes-D \${jump#-A }$nl"; count=$((count - 1)); done
  done
}
# (stderr: iptables-nft-save warns about legacy tables on hosts that have both)
saved4=$nl$("iptables-$mode-save" -t filter 2>/dev/null)$nl
saved=$saved4
jump_fixes
v4_fixes=$fixes
saved6=
v6_fixes=
if [ "$ipv6" = true ]; then
  saved6=$nl$("ip6tables-$mode-save" -t filter 2>/dev/null)$nl
  saved=$saved6
  jump_fixes
  v6_fixes=$fixes
fi

# Put back a family's previous rules ($1: iptables or ip6tables; $2: its save above; $3: the jump
# fixes this run committed): our chains as they were, or, where a chain was not there, gone with
# the jumps this run added. Duplicate jumps cut stay cut.
revert_family() {
  echo "hostnet: the other family's rules failed after the $1 rules were committed; putting the previous $1 rules back" >&2
  if ! {
    echo '*filter'
    for chain in ${ownChains}; do echo ":$chain - [0:0]"; done
    printf '%s\\n' "$2" | while IFS= read -r line; do
      case "$line" in ${ownRuleArms}) printf '%s\\n' "$line" ;; esac
    done
    printf '%s' "$3" | while IFS= read -r line; do
      case "$line" in "-I "*) rest=\${line#-I }; echo "-D \${rest%% *} \${rest#* 1 }" ;; esac
    done
    for chain in ${ownChains}; do
      case "$2" in *"$nl:$chain "*) ;; *) echo "-X $chain" ;; esac
    done
    echo COMMIT
  } | "$1-$mode-restore" -w ${XTABLES_WAIT} --noflush; then
    echo "hostnet: could not put the previous $1 rules back: it has the new rules, the other family the previous ones" >&2
  fi
}

# Each family commits atomically, both at once (IPv6 in the background): when one fails, the one
# that committed is put back, so a failing apply changes nothing. A run killed at any point leaves
# each family its previous rules or the new ones, never none. (On the way out, on_exit waits for
# the IPv6 restore first: it reports and cleans up only what is settled.)
if [ -n "$sets_pid" ]; then
  if ! wait "$sets_pid"; then sets_pid=; exit 1; fi
  sets_pid=
  listed_by_restore=true
fi
${lockCheck('the rules')}
if [ "$ipv6" = true ]; then
  "ip6tables-$mode-restore" -w ${XTABLES_WAIT} --noflush ${splicingHeredoc('RULES', [{ literal: v6 }, { shell: '$v6_fixes' }, { literal: ['COMMIT'] }], ' &')}
  v6_pid=$!
fi
v4_ok=true
"iptables-$mode-restore" -w ${XTABLES_WAIT} --noflush ${splicingHeredoc('RULES', [{ literal: v4 }, { shell: '$v4_fixes' }, { literal: ['COMMIT'] }], ' || v4_ok=false')}
v6_ok=true
if [ -n "$v6_pid" ]; then
  wait "$v6_pid" || v6_ok=false
  v6_pid=
fi
if [ "$v4_ok:$v6_ok" != true:true ]; then
  if [ "$v4_ok" = true ]; then revert_family iptables "$saved4" "$v4_fixes"; fi
  if [ "$v6_ok" = true ] && [ "$ipv6" = true ]; then revert_family ip6tables "$saved6" "$v6_fixes"; fi
  exit 1
fi
applied=true
echo "hostnet: applied NodeFirewall ${name} (iptables-$mode)${mode === FirewallMode.AUDIT ? ' in AUDIT mode: nothing is dropped' : ''}"
`;
}

/** ipset's default maxelem is 65,536: a larger list needs it raised, or the restore fails with "Hash is full". */
function maxelem(set: LinuxSet): number {
  return Math.max(65536, set.members.length);
}

function removeScript(names: HostNames): string {
  const { name, setPrefix } = names;
  const chainList = Object.values(names.chains);
  const chains = chainList.join(' ');
  const ownRules = chainList.map((c) => `"-A ${c} "*`).join('|');
  // one case arm per chain: a rule (ours or not) that jumps or goes to it, at the end of the line or not
  const jumpArms = chainList.map((c) => `${['j', 'g'].flatMap((t) => [`"-A "*" -${t} ${c}"`, `"-A "*" -${t} ${c} "*`]).join('|')}) echo "-D \${line#-A }" ;;`)
    .join('\n        ');
  return `#!/bin/sh
# cdk8s-hostnet NodeFirewall ${shQuote(name)}: remove what apply.sh added and nothing else, from every
# iptables flavour that holds them: the chains ${chainList.join(', ')}
# with every rule that jumps to them, ours or not, and the ${setPrefix}* sets. Another NodeFirewall's
# chains and sets on this node stay.
# Exits 1, saying what is left, when anything could not be removed.
set -eu

${LEGACY_TABLES}

${LOCK_FUNCTIONS}

on_exit() { lock_release; }
${SIGNAL_TRAPS}
${LOCK_OR_EXIT}

# One restore per flavour and family: declaring a chain flushes it, every rule that jumps to it is
# deleted (as iptables-save prints it), then the chain; the restore is atomic.
remove_chains() {
  saved=$("$1-$2-save" -t filter 2>/dev/null) || return 0
  printf '%s\\n' "$saved" | grep -q -E -e '^:(${chainList.join('|')}) ' || return 0
  {
    echo '*filter'
    for chain in ${chains}; do echo ":$chain - [0:0]"; done
    printf '%s\\n' "$saved" | while IFS= read -r line; do
      case "$line" in
        ${ownRules}) ;;
        ${jumpArms}
      esac
    done
    for chain in ${chains}; do echo "-X $chain"; done
    echo COMMIT
  } | "$1-$2-restore" -w ${XTABLES_WAIT} --noflush
  echo "hostnet: removed the chains from $1-$2"
}
modes=nft
if legacy_tables; then modes="legacy nft"; fi
families=iptables
if [ "$ipv6" = true ]; then families="iptables ip6tables"; fi
for mode in $modes; do
  for family in $families; do remove_chains "$family" "$mode"; done
done

# The sets: a set still in use (by rules outside our chains) is reported, not skipped silently.
left=
if command -v ipset >/dev/null 2>&1; then
  for set in $(ipset list -n); do
    case "$set" in ${setPrefix}*) ipset destroy "$set" || left="$left $set" ;; esac
  done
elif [ -d /sys/module/ip_set ]; then
  echo "hostnet: ipset is not installed, so the ${setPrefix}* sets (if any) were not removed; run remove.sh where ipset is (the agent image)" >&2
  exit 1
fi
if [ -n "$left" ]; then
  echo "hostnet: could not remove these sets:$left" >&2
  exit 1
fi
echo "hostnet: removed NodeFirewall ${name}"
`;
}
