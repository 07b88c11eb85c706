import { HostNames } from './host-names';
import { CompiledPolicy } from '../policy/compiled-policy';
import { FirewallMode } from '../policy/firewall-mode';
import { Protocol, RuleAction } from '../policy/protocol';

/**
 * Per-rule counters in the Prometheus text format: the same names, labels and meaning on every
 * backend and OS (README: Metrics). Names are part of the public API.
 */
export const RULE_METRICS = {
  packets: 'hostnet_rule_packets_total',
  bytes: 'hostnet_rule_bytes_total',
} as const;

/** Shell: a newline in a variable, and the HELP/TYPE header plus the collected samples of both metrics. */
const PRINT = (names: HostNames) => `print_rule_metrics() {
  printf '# HELP ${RULE_METRICS.packets} Packets matched by each rule of the policy (action: drop, would_drop in audit mode, allow).\\n'
  printf '# TYPE ${RULE_METRICS.packets} counter\\n%s' "$packets"
  printf '# HELP ${RULE_METRICS.bytes} Bytes matched by each rule of the policy.\\n'
  printf '# TYPE ${RULE_METRICS.bytes} counter\\n%s' "$bytes"
}
nl=$(printf '\\nx')
nl=\${nl%x}
packets=
bytes=
key=
# adds one rule line's counters; consecutive lines of one rule (and labels) are summed
count() {
  case " $deny_ids " in *" $1 "*) action=$drop_action ;; *) action=allow ;; esac
  next="rule=\\"$1\\",action=\\"$action\\",direction=\\"$2\\",family=\\"$3\\"${names.metricsLabel ? `,${names.metricsLabel.replace(/"/g, '\\"')}` : ''}"
  if [ "$next" != "$key" ]; then flush_rule; key=$next; pk=0; by=0; fi
  pk=$((pk + $4))
  by=$((by + $5))
}
flush_rule() {
  if [ -z "$key" ]; then return 0; fi
  packets="\${packets}${RULE_METRICS.packets}{$key} $pk$nl"
  bytes="\${bytes}${RULE_METRICS.bytes}{$key} $by$nl"
  key=
}`;

function header(dropping: string[], mode: FirewallMode): string {
  return `deny_ids="${dropping.join(' ')}"
drop_action=${mode === FirewallMode.AUDIT ? 'would_drop' : 'drop'}`;
}

/**
 * The `apply.sh metrics` branch for iptables: reads `iptables-save -c` of our chains (after the
 * flavour is known). Ids that only route packets (loopback, replies, not-governed) are left out.
 */
export function iptablesMetrics(names: HostNames, dropping: string[], mode: FirewallMode): string {
  const chains = names.chains;
  return `# \`apply.sh metrics\` prints our rules' counters in the Prometheus text format and changes nothing.
if [ "\${1:-}" = metrics ]; then
  ${header(dropping, mode).split('\n').join('\n  ')}
  ${PRINT(names).split('\n').join('\n  ')}
  # "[packets:bytes] -A <our chain> ... --comment <id> ... -j DROP|RETURN" (only our chains: not another firewall's)
  count_family() {
    while IFS= read -r line; do
      case "$line" in
        "["*"] -A ${chains.input} "*) direction=ingress ;;
        "["*"] -A ${chains.output} "*) direction=egress ;;
        "["*"] -A ${chains.forward} "*) direction=forward ;;
        *) continue ;;
      esac
      case "$line" in *" -j LOG "*) continue ;; esac
      counters=\${line%%]*}
      counters=\${counters#[}
      rest=\${line#*] -A }
      id=\${rest##*--comment }
      id=\${id%% *}
      case "$id" in loopback|replies|not-governed) continue ;; esac
      count "$id" "$direction" "$1" "\${counters%%:*}" "\${counters#*:}"
    done
    flush_rule
  }
  count_family ipv4 <<SAVED
$("iptables-$mode-save" -c -t filter 2>/dev/null)
SAVED
  if [ "$ipv6" = true ]; then
    count_family ipv6 <<SAVED
$("ip6tables-$mode-save" -c -t filter 2>/dev/null)
SAVED
  fi
  print_rule_metrics
  exit 0
fi`;
}

/** The `apply.sh metrics` branch for nftables: reads our table; every rule line that counts carries its family. */
export function nftablesMetrics(names: HostNames, dropping: string[], mode: FirewallMode): string {
  const table = `inet ${names.nftTable}`;
  return `# \`apply.sh metrics\` prints our rules' counters in the Prometheus text format and changes nothing.
if [ "\${1:-}" = metrics ]; then
  ${header(dropping, mode).split('\n').join('\n  ')}
  ${PRINT(names).split('\n').join('\n  ')}
  direction=
  while IFS= read -r line; do
    case "$line" in
      *"chain input {"*) direction=ingress; continue ;;
      *"chain output {"*) direction=egress; continue ;;
      *"chain forward {"*) direction=forward; continue ;;
      *"counter packets "*) ;;
      *) continue ;;
    esac
    case " $line" in *[[:space:]]ip6[[:space:]]*|*"nfproto ipv6"*) family=ipv6 ;; *) family=ipv4 ;; esac
    id=\${line##*comment \\"}
    id=\${id%\\"*}
    counters=\${line#*counter packets }
    byte_count=\${counters#* bytes }
    count "$id" "$direction" "$family" "\${counters%% *}" "\${byte_count%% *}"
  done <<LISTED
$(nft list table ${table} 2>/dev/null)
LISTED
  flush_rule
  print_rule_metrics
  exit 0
fi`;
}

/** The ids of the rule lines that drop (or would, in audit mode): deny rules and the default denies. */
export function denyIds(policy: CompiledPolicy): string[] {
  const ids = new Set(policy.rules.filter((r) => r.action === RuleAction.DENY).map((r) => r.id));
  if (policy.udp === RuleAction.DENY) ids.add(`default-deny-${Protocol.UDP}`);
  if (policy.tcp === RuleAction.DENY) ids.add(`default-deny-${Protocol.TCP}`);
  return [...ids];
}
