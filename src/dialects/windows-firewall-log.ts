import { WindowsRule, WindowsRulePlan } from './windows-rules';
import { Family, parseCidr } from '../policy/cidr';
import { FirewallMode } from '../policy/firewall-mode';

/**
 * Windows Firewall keeps no per-rule counters and has no log-only action. What it offers is its log
 * (pfirewall.log): one line per dropped packet (LogBlocked) and per allowed connection (LogAllowed),
 * with the 5-tuple but without the rule that decided. Our rules are our data, so the agent evaluates
 * each logged packet against them: a DROP (enforce) is counted for the first of our Block rules whose
 * data matches it, an ALLOW (audit, where our rules are disabled) for the rule that would have dropped
 * it. Field order, as Microsoft documents it in the file's header:
 *   #Fields: date time action protocol src-ip dst-ip src-port dst-port size tcpflags tcpsyn tcpack tcpwin icmptype icmpcode info path [pid]
 * Microsoft's "Configuring Firewall Log Files" also says the size limit is 1-32767 KB and that `size`
 * is given for dropped packets only (an ALLOW line says 0).
 * @see https://learn.microsoft.com/previous-versions/windows/it-pro/windows-server-2008-R2-and-2008/ff428145(v=ws.10)
 */
export const FIREWALL_LOG_FILE = '%systemroot%\\system32\\LogFiles\\Firewall\\pfirewall.log';

/** The size each profile's log may reach before Windows moves it to pfirewall.log.old (a larger setting is kept). */
export const FIREWALL_LOG_MAX_KILOBYTES = 16384;

/** In the agent's node directory: each profile's log settings before the first apply, for remove.ps1. */
export const FIREWALL_LOG_SAVED = 'firewall-log-settings.txt';

/**
 * One Windows Block rule as the log matcher sees it. Addresses are fixed-width lowercase hex (8 digits
 * for IPv4, 32 for IPv6), so an ordinal string comparison is a numeric one and a range of one family
 * never matches an address of the other. Undefined lists match anything.
 */
export interface LogMatchRule {
  /** The policy rule id counted: a deny rule's id, or `default-deny-<protocol>`. */
  readonly rule: string;
  readonly direction: 'Inbound' | 'Outbound';
  /** `UDP`, `TCP`, `ICMPV4`, `ICMPV6` or `ANY`. */
  readonly protocol: string;
  /** The families whose packets the rule can match. */
  readonly families: Family[];
  readonly remote?: [string, string][];
  readonly local?: [string, string][];
  readonly remotePort?: [number, number][];
  readonly localPort?: [number, number][];
}

/**
 * The matcher's table: every Block rule of the plan, deny rules first (in policy order), then the
 * default-deny complements, as on Linux (deny rules come before the default). Windows itself has no
 * order (any matching Block rule blocks), so the order only decides which of two matching rules of
 * ours a drop is counted for; the first match wins.
 */
export function logMatchTable(plan: WindowsRulePlan): LogMatchRule[] {
  const ordered = [...plan.groups.filter((g) => !g.defaultDeny), ...plan.groups.filter((g) => g.defaultDeny)];
  return ordered.flatMap((group) => group.rules.map((rule) => toMatchRule(group.ruleId, rule)));
}

function toMatchRule(ruleId: string, rule: WindowsRule): LogMatchRule {
  const remote = rule.remoteAddress?.map(addressRange);
  const local = rule.localAddress?.map(addressRange);
  const protocol = rule.protocol.toUpperCase();
  const listed = [...(remote ?? []), ...(local ?? [])].map((r) => r.family);
  const families: Family[] = protocol === 'ICMPV4' ? ['ipv4'] : protocol === 'ICMPV6' ? ['ipv6']
    : listed.length ? (['ipv4', 'ipv6'] as Family[]).filter((f) => listed.includes(f)) : ['ipv4', 'ipv6'];
  return {
    rule: ruleId,
    direction: rule.direction,
    protocol,
    families,
    remote: remote?.map((r) => [r.from, r.to]),
    local: local?.map((r) => [r.from, r.to]),
    remotePort: rule.remotePort?.map(portRange),
    localPort: rule.localPort?.map(portRange),
  };
}

/** A RemoteAddress/LocalAddress entry as rendered (`a`, `a/n` or `a-b`) as a hex range. */
function addressRange(entry: string): { family: Family; from: string; to: string } {
  const [first, last] = entry.includes('-') ? entry.split('-') : [entry, undefined];
  const a = parseCidr(first);
  const b = last === undefined ? a : parseCidr(last);
  if (typeof a === 'string' || typeof b === 'string' || a.family !== b.family) throw new Error(`internal: address entry ${entry} is not an address, CIDR or range`);
  const width = a.family === 'ipv4' ? 8 : 32;
  return { family: a.family, from: a.first.toString(16).padStart(width, '0'), to: b.last.toString(16).padStart(width, '0') };
}

function portRange(entry: string): [number, number] {
  const match = /^(\d+)(?:-(\d+))?$/.exec(entry);
  if (!match) throw new Error(`internal: port entry ${entry} is not a port or range`);
  return [Number(match[1]), Number(match[2] ?? match[1])];
}

/**
 * The table as text, one rule a line, fields separated by one space, `*` for any:
 * `<rule> <Inbound|Outbound> <protocol> <families> <remote> <local> <remote ports> <local ports>`,
 * lists comma-separated, ranges `from-to`.
 */
export function formatLogTable(table: readonly LogMatchRule[]): string {
  const list = (items: readonly (readonly [unknown, unknown])[] | undefined) => (items ? items.map(([a, b]) => `${a}-${b}`).join(',') : '*');
  return table.map((r) => [r.rule, r.direction, r.protocol, r.families.join(','), list(r.remote), list(r.local), list(r.remotePort), list(r.localPort)].join(' ')).join('\n');
}

/** apply.ps1: the table as a here-string that `apply.ps1 -LogTable` prints for the agent. */
export function logTableBlock(table: readonly LogMatchRule[]): string {
  const text = formatLogTable(table);
  // a line starting with '@ would end the here-string: rule ids and hex never do
  if (/^'@/m.test(text)) throw new Error('internal: the log table would end its here-string');
  return `# The rules as the agent matches logged packets against them (run.ps1 reads this with -LogTable), one
# a line: rule, direction, protocol, families, remote and local addresses (hex ranges), remote and local
# ports; * is any. Deny rules first, then the default denies: a drop counts for the first that matches.
$LogTableText = @'
${text}
'@
if ($LogTable) {
  foreach ($line in @($LogTableText -split "\`n")) { if ($line) { Write-Output $line } }
  exit 0
}`;
}

/**
 * apply.ps1: `Enable-FirewallLog`, which turns on the firewall log of every profile (our rules apply to
 * all of them: -Profile Any). Logging is a host-wide setting, so the first apply saves what each profile
 * had, and remove.ps1 (`Restore-FirewallLog`) puts it back. Audit mode also logs allowed connections;
 * enforce mode puts LogAllowed back to what it was. Needs `$Node` and `$Store`.
 */
export function enableFirewallLog(mode: FirewallMode): string {
  return `${FIREWALL_LOG_SETTINGS}

# Windows Firewall keeps no per-rule counters: the agent counts our drops from this log. The first
# apply on this host saves each profile's log settings (remove.ps1 restores them); then every profile
# logs dropped packets to one file${mode === FirewallMode.AUDIT ? ' and, in audit mode, allowed connections too (our rules are disabled:\n# the agent evaluates each allowed connection against them)' : ' (allowed connections as before)'}.
function Enable-FirewallLog {
  $current = @(Get-FirewallLogSettings)
  if (-not (Test-Path -LiteralPath $FirewallLogSaved -PathType Leaf)) {
    $null = [System.IO.Directory]::CreateDirectory($Node)
    [System.IO.File]::WriteAllText($FirewallLogSaved, ((@($current | ForEach-Object { $_ -join '|' }) -join "\`n") + "\`n"))
  }
  $saved = @{}
  foreach ($line in @(Get-Content -LiteralPath $FirewallLogSaved)) {
    $fields = @($line -split '\\|')
    if ($fields.Count -eq 5) { $saved[$fields[0]] = $fields }
  }
  foreach ($fwProfile in $current) {
    $allowed = ${mode === FirewallMode.AUDIT ? '\'True\'' : 'if ($saved.ContainsKey($fwProfile[0])) { $saved[$fwProfile[0]][2] } else { $fwProfile[2] }'}
    $size = ${FIREWALL_LOG_MAX_KILOBYTES}
    if ($fwProfile[4] -match '^\\d+$' -and [int64]$fwProfile[4] -gt $size) { $size = [int64]$fwProfile[4] }
    if ($fwProfile[1] -eq 'True' -and $fwProfile[2] -eq $allowed -and $fwProfile[3] -eq $FirewallLogFile -and "$size" -eq $fwProfile[4]) { continue }
    Set-NetFirewallProfile -Name $fwProfile[0] -PolicyStore $Store -LogBlocked True -LogAllowed $allowed -LogFileName $FirewallLogFile -LogMaxSizeKilobytes $size
  }
}`;
}

/** remove.ps1: `Restore-FirewallLog` puts back each profile's log settings as the first apply found them. Needs `$Node` and `$Store`. */
export function restoreFirewallLog(): string {
  return `${FIREWALL_LOG_SETTINGS}

# The firewall log settings of each profile as the first apply found them (a host-wide setting that
# apply.ps1 changed): put back, then forgotten.
function Restore-FirewallLog {
  if (-not (Test-Path -LiteralPath $FirewallLogSaved -PathType Leaf)) { return }
  foreach ($line in @(Get-Content -LiteralPath $FirewallLogSaved)) {
    $fields = @($line -split '\\|')
    if ($fields.Count -ne 5) { continue }
    $settings = @{ Name = $fields[0]; PolicyStore = $Store; LogBlocked = $fields[1]; LogAllowed = $fields[2] }
    if ($fields[3] -and $fields[3] -ne 'NotConfigured') { $settings.LogFileName = $fields[3] }
    if ($fields[4] -match '^\\d+$') { $settings.LogMaxSizeKilobytes = [uint64]$fields[4] }
    Set-NetFirewallProfile @settings
  }
  Remove-Item -LiteralPath $FirewallLogSaved -Force
}`;
}

const FIREWALL_LOG_SETTINGS = `# The firewall log: one file for every profile, and where the settings found before are kept.
$FirewallLogFile = '${FIREWALL_LOG_FILE}'
$FirewallLogSaved = Join-Path $Node '${FIREWALL_LOG_SAVED}'
# Each profile's log settings: name, LogBlocked, LogAllowed, LogFileName, LogMaxSizeKilobytes.
function Get-FirewallLogSettings {
  foreach ($fwProfile in @(Get-NetFirewallProfile -PolicyStore $Store)) {
    ,@("$($fwProfile.Name)", "$($fwProfile.LogBlocked)", "$($fwProfile.LogAllowed)", "$($fwProfile.LogFileName)", "$($fwProfile.LogMaxSizeKilobytes)")
  }
}`;
