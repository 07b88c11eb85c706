// The drop log: each rule line that drops (or would, in audit mode) first logs the packet to the
// kernel log, rate-limited, under a short prefix; droplog.sh, a sidecar of the agent, turns those
// lines into one readable line per packet on its stdout, so `kubectl logs` shows them.
import { createHash } from 'crypto';
import { DROP_LOG_PRINTF } from './drop-log-format';
import { AGENT_PATHS } from './linux-agent';
import { shQuote } from './shell';
import { FirewallMode } from '../policy/firewall-mode';

/** At most this many log lines per rule line and minute, after a burst of DROP_LOG_BURST. */
export const DROP_LOG_PER_MINUTE = 6;
export const DROP_LOG_BURST = 3;

/** How often droplog.sh reads the kernel log, seconds (HOSTNET_DROP_LOG_SECONDS overrides). */
export const DROP_LOG_SECONDS = 5;

/**
 * The kernel log prefix of one rule: `hn:<firewall>:<d|w>:<rule> `. iptables' LOG keeps 29
 * characters, too few for a rule id (48) and a firewall name (63), so the prefix carries a short
 * hash of the name and the rule's index in `ids`; droplog.sh maps them back.
 */
export function dropLogPrefix(name: string, ids: readonly string[], id: string, mode: FirewallMode): string {
  const index = ids.indexOf(id);
  if (index < 0) throw new Error(`internal: rule '${id}' drops but is not in the drop log's list`);
  return `${firewallTag(name)}${mode === FirewallMode.AUDIT ? 'w' : 'd'}:${index} `;
}

function firewallTag(name: string): string {
  return `hn:${createHash('sha256').update(name).digest('hex').slice(0, 6)}:`;
}

/**
 * droplog.sh: every few seconds, the kernel log lines of this firewall newer than the last one
 * seen, printed in the drop log's one format (drop-log-format.ts), the same as on Windows. It polls with `dmesg` (needs CAP_SYSLOG):
 * /dev/kmsg would block and wait instead, but an unprivileged container may not open that device.
 */
export function renderDropLogReader(name: string, ids: readonly string[]): string {
  return `#!/bin/sh
# cdk8s-hostnet NodeFirewall ${shQuote(name)}: the drop log. Prints each packet this firewall's rules
# dropped (or would drop, in audit mode) that the kernel logged, rate-limited per rule line to
# ${DROP_LOG_PER_MINUTE} a minute after a burst of ${DROP_LOG_BURST}.
set -u
bb="\${HOSTNET_BUSYBOX:-${AGENT_PATHS.tools}/busybox}"
period="\${HOSTNET_DROP_LOG_SECONDS:-${DROP_LOG_SECONDS}}"
tag=${shQuote(firewallTag(name))}
ids=${shQuote(ids.join(' '))}

# Reads the kernel log; prints the new lines of this firewall, then "MARK <time> <count>": the
# newest timestamp and how many lines carried it, so equal timestamps are neither lost nor doubled.
read_new() {
  # shellcheck disable=SC2016 # the single-quoted program is awk's: its $ are fields
  "$bb" dmesg | "$bb" awk -v tag="$tag" -v ids="$ids" -v last="$1" -v seen="$2" '
    BEGIN { n = split(ids, id, " "); mark = last; at_mark = seen }
    {
      if (substr($0, 1, 1) != "[") next
      t = substr($0, 2, index($0, "]") - 2) + 0
      if (t < last) next
      if (t == last && seen > 0) { seen--; next }
      if (t == mark) at_mark++; else { mark = t; at_mark = 1 }
      p = index($0, tag)
      if (p == 0) next
      rest = substr($0, p + length(tag))
      split(rest, head, " ")
      split(head[1], ar, ":")
      action = ar[1] == "w" ? "would_drop" : "drop"
      rule = id[ar[2] + 1]
      if (rule == "") rule = "unknown-" ar[2]
      src = field(rest, "SRC"); dst = field(rest, "DST"); proto = tolower(field(rest, "PROTO"))
      spt = field(rest, "SPT"); dpt = field(rest, "DPT")
      in_if = field(rest, "IN"); out_if = field(rest, "OUT")
      dir = (in_if != "" && out_if != "") ? "forward" : (in_if != "" ? "ingress" : "egress")
      printf "${DROP_LOG_PRINTF}\\n", rule, action, proto, addr(src, spt), addr(dst, dpt), dir
    }
    END { printf "MARK %.6f %d\\n", mark, at_mark }
    function field(s, key,   m) {
      if (match(" " s, " " key "=[^ ]*") == 0) return ""
      return substr(" " s, RSTART + length(key) + 2, RLENGTH - length(key) - 2)
    }
    function addr(a, port) {
      a = v6(a)
      if (port == "") port = 0
      return index(a, ":") ? "[" a "]:" port : a ":" port
    }
    # the kernel prints IPv6 addresses in full; print them as everyone else does (RFC 5952)
    function v6(a,   g, i, best, bestlen, cur, curlen, out) {
      if (split(a, g, ":") != 8) return a
      bestlen = 0; curlen = 0
      for (i = 1; i <= 8; i++) {
        sub(/^0+/, "", g[i])
        if (g[i] == "") g[i] = "0"
        if (g[i] != "0") { curlen = 0; continue }
        if (curlen++ == 0) cur = i
        if (curlen > bestlen) { best = cur; bestlen = curlen }
      }
      out = ""
      for (i = 1; i <= 8; i++) {
        if (bestlen >= 2 && i == best) { out = out "::"; i += bestlen - 1; continue }
        if (out != "" && substr(out, length(out)) != ":") out = out ":"
        out = out g[i]
      }
      return out
    }'
}

nl=$(printf '\\nx')
nl=\${nl%x}
if ! problem=$("$bb" dmesg 2>&1 >/dev/null) || [ -n "$problem" ]; then
  # not fatal: the firewall works without its log; exiting would only restart this container
  echo "hostnet: cannot read the kernel log, so the drop log is off: \${problem:-dmesg failed} (it needs CAP_SYSLOG)" >&2
  while :; do "$bb" sleep 3600; done
fi
# lines already in the log when the pod starts were printed by the pod before this one
start=$(read_new -1 0)
mark=\${start##*MARK }
last=\${mark% *}
seen=\${mark#* }
echo "hostnet: drop log of NodeFirewall ${name} started; one line per logged packet"
while :; do
  "$bb" sleep "$period"
  batch=$(read_new "$last" "$seen") || continue
  mark=\${batch##*MARK }
  case "$batch" in *"$nl"*) printf '%s\\n' "\${batch%"$nl"MARK *}" ;; esac
  last=\${mark% *}
  seen=\${mark#* }
done
`;
}
