import { RULE_METRICS } from './rule-metrics';
import { psQuote } from './windows-powershell';

/** HELP and TYPE of each metric the Windows agent writes; the same text as the Linux agent's. */
const HELP: [name: string, type: 'counter' | 'gauge', help: string][] = [
  [RULE_METRICS.packets, 'counter', 'Packets matched by each rule of the policy (action: drop, would_drop in audit mode, allow).'],
  [RULE_METRICS.bytes, 'counter', 'Bytes matched by each rule of the policy.'],
  ['hostnet_policy_info', 'gauge', 'The policy this node enforces (1).'],
  ['hostnet_apply_success', 'gauge', 'Whether the last apply succeeded (1) or failed (0).'],
  ['hostnet_last_apply_timestamp_seconds', 'gauge', 'When the last apply ran (Unix time).'],
  ['hostnet_apply_duration_seconds', 'gauge', 'How long the last apply took.'],
  ['hostnet_drift_repairs_total', 'counter', 'Re-applies because the rules in force differed from those applied.'],
  ['hostnet_reverts_total', 'counter', 'Policies this pod reverted because they broke a health check.'],
];

/** The agent's own figures: metric and the run.ps1 variable that holds it. */
const GAUGES: [string, string][] = [
  ['hostnet_apply_success', '$ApplySuccess'],
  ['hostnet_last_apply_timestamp_seconds', '$LastApply'],
  ['hostnet_apply_duration_seconds', '$ApplyDuration'],
  ['hostnet_drift_repairs_total', '$DriftRepairs'],
  ['hostnet_reverts_total', '$Reverts'],
];

/** The HELP and TYPE lines of a metric, as PowerShell statements adding them to `$lines`. */
function header(name: string): string[] {
  const [, type, help] = HELP.find(([n]) => n === name)!;
  return [`$lines.Add(${psQuote(`# HELP ${name} ${help}`)})`, `$lines.Add(${psQuote(`# TYPE ${name} ${type}`)})`];
}

/**
 * run.ps1: `Invoke-TimedApply` (an apply that records its outcome for the metrics) and `Write-Metrics`,
 * which writes hostnet.prom for windows_exporter's textfile collector: our rules' counters from the
 * firewall log and the agent's own figures, written to a temporary file and moved over the old one, so
 * a scrape never sees half a file. Needs `$MetricsDir` (empty: no metrics), `$RulePackets`,
 * `$RuleBytes`, `$Policy`, `$Reverts` and `$DriftRepairs`.
 */
export function windowsMetricsWriter(o: { mode: string; backend: string; version: string; file: string; label: string }): string {
  return `# --- Metrics (hostnet.prom) ---
$ApplySuccess = 0
$LastApply = 0
$ApplyDuration = '0.00'
$EnforcedPolicy = ''

# Runs an apply (Invoke-PolicyScript) and records when it ran, how long it took and whether it worked.
function Invoke-TimedApply([string]$Path, [string[]]$Arguments = @()) {
  $watch = [System.Diagnostics.Stopwatch]::StartNew()
  Invoke-PolicyScript $Path $Arguments
  $script:ApplyDuration = $watch.Elapsed.TotalSeconds.ToString('0.00', [System.Globalization.CultureInfo]::InvariantCulture)
  $script:LastApply = [DateTimeOffset]::UtcNow.ToUnixTimeSeconds()
  $script:ApplySuccess = if ($script:ExitCode -eq 0) { 1 } else { 0 }
}

# A hashtable's keys in ordinal order (Sort-Object compares by culture, which skips dashes).
function Get-SortedKeys([hashtable]$Table) {
  $keys = [string[]]@($Table.Keys)
  [Array]::Sort($keys, [StringComparer]::Ordinal)
  return ,$keys
}

function Write-Metrics {
  if (-not $MetricsDir) { return }
  $lines = New-Object System.Collections.Generic.List[string]
  ${[
    ...header(RULE_METRICS.packets),
    `foreach ($key in (Get-SortedKeys $RulePackets)) { $lines.Add('${RULE_METRICS.packets}{' + $key + '} ' + $RulePackets[$key]) }`,
    ...header(RULE_METRICS.bytes),
    `foreach ($key in (Get-SortedKeys $RuleBytes)) { $lines.Add('${RULE_METRICS.bytes}{' + $key + '} ' + $RuleBytes[$key]) }`,
    ...header('hostnet_policy_info'),
    `$lines.Add('hostnet_policy_info{policy_sha256="' + $(if ($EnforcedPolicy) { $EnforcedPolicy } else { 'none' }) + ${psQuote(`",mode="${o.mode}",backend="${o.backend}",version="${o.version}"} 1`)})`,
    ...GAUGES.flatMap(([name, variable]) => [...header(name), `$lines.Add('${name} ' + ${variable})`]),
  ].join('\n  ')}
  # a firewall other than the default labels every series, so two firewalls' files on one node never clash
  $label = ${psQuote(o.label)}
  if ($label) {
    $lines = @($lines | ForEach-Object {
      if ($_.StartsWith('#')) { $_ }
      elseif ($_ -match '^([a-z_]+)\{(.*)$') { $Matches[1] + '{' + $label + ',' + $Matches[2] }
      else { $_ -replace '^([a-z_]+) ', ('$1{' + $label + '} ') }
    })
  }
  $text = ($lines -join "\`n") + "\`n"
  $target = Join-Path $MetricsDir ${psQuote(o.file)}
  $temp = "$target.$PID"
  try {
    $null = [System.IO.Directory]::CreateDirectory($MetricsDir)
    [System.IO.File]::WriteAllText($temp, $text)
    if ([System.IO.File]::Exists($target)) { [System.IO.File]::Replace($temp, $target, $null) } else { [System.IO.File]::Move($temp, $target) }
  } catch {
    Write-Log "cannot write $($target): $($_.Exception.Message)"
  }
}`;
}
