import { DROP_LOG_PS_FORMAT } from './drop-log-format';
import { FIREWALL_LOG_FILE } from './windows-firewall-log';
import { FirewallMode } from '../policy/firewall-mode';

/** Drop log lines a minute, at most; the rest are counted, and their number logged once a minute. */
export const DROP_LOG_PER_MINUTE = 20;

/** Bytes of the firewall log read a round, at most: the rest waits for the next round. */
export const LOG_READ_LIMIT = 4 * 1024 * 1024;

/**
 * run.ps1: reads the lines the firewall log gained since the last round (following Windows' move of a
 * full log to pfirewall.log.old, and a truncated file), matches each DROP (enforce) or ALLOW (audit)
 * line against the enforced policy's table (`apply.ps1 -LogTable`), counts it in `$RulePackets` and
 * `$RuleBytes` and prints a rate-limited drop log line. Called as statements (their output is the
 * drop log).
 */
export function firewallLogReader(mode: FirewallMode): string {
  const audit = mode === FirewallMode.AUDIT;
  return `# --- Drops per rule, from the firewall log ---
# Windows Firewall keeps no per-rule counters: apply.ps1 turns its log on, and this loop reads what the
# log gained since the last round and evaluates each ${audit ? 'allowed connection against our (disabled) Block rules: one that a rule of\n# ours would have dropped counts as would_drop' : 'dropped packet against our Block rules: one that a rule of ours\n# matches counts as drop (packets dropped by other rules, or by the inbound default, are not ours)'}.
$FirewallLog = [Environment]::ExpandEnvironmentVariables($(if ($env:HOSTNET_FIREWALL_LOG) { $env:HOSTNET_FIREWALL_LOG } else { '${FIREWALL_LOG_FILE}' }))
$CountedAction = '${audit ? 'ALLOW' : 'DROP'}'
$DropAction = '${audit ? 'would_drop' : 'drop'}'
$RulePackets = @{}
$RuleBytes = @{}
$LogRules = @{}
$LogOffset = 0
$LogOldStamp = ''
$NewLogLines = New-Object System.Collections.Generic.List[string]
$DropLogWindow = [DateTime]::MinValue
$DropLogCount = 0
$DropLogSkipped = 0

# A range list of the table ('*': any) as pairs.
function ConvertFrom-RangeList([string]$Text, [bool]$Numeric) {
  if ($Text -eq '*') { return $null }
  $ranges = @()
  foreach ($item in @($Text -split ',')) {
    $ends = @($item -split '-')
    if ($Numeric) { $ranges += ,@([int]$ends[0], [int]$ends[1]) } else { $ranges += ,@($ends[0], $ends[1]) }
  }
  return ,$ranges
}

# The enforced policy's table (apply.ps1 -LogTable), indexed by "<direction> <protocol>" in table order;
# a rule for any protocol is listed under each protocol. Every rule's counters start at 0.
function Import-LogTable([string]$Path) {
  $script:LogRules = @{}
  $lines = @()
  try { $lines = @(& $Path -LogTable) } catch { $lines = @() }
  foreach ($line in $lines) {
    $f = @("$line" -split ' ')
    if ($f.Count -ne 8) { continue }
    $rule = New-Object PSObject -Property @{
      Rule = $f[0]; Families = @($f[3] -split ',')
      Remote = (ConvertFrom-RangeList $f[4] $false); Local = (ConvertFrom-RangeList $f[5] $false)
      RemotePort = (ConvertFrom-RangeList $f[6] $true); LocalPort = (ConvertFrom-RangeList $f[7] $true)
    }
    $protocols = if ($f[2] -eq 'ANY') { @('UDP', 'TCP', 'ICMPV4', 'ICMPV6') } else { @($f[2]) }
    foreach ($protocol in $protocols) {
      $index = "$($f[1]) $protocol"
      if (-not $script:LogRules.ContainsKey($index)) { $script:LogRules[$index] = New-Object System.Collections.ArrayList }
      $null = $script:LogRules[$index].Add($rule)
    }
    foreach ($family in $rule.Families) {
      $key = Format-RuleKey $f[0] $(if ($f[1] -eq 'Inbound') { 'ingress' } else { 'egress' }) $family
      if (-not $RulePackets.ContainsKey($key)) { $RulePackets[$key] = 0; $RuleBytes[$key] = 0 }
    }
  }
}

function Format-RuleKey([string]$Rule, [string]$Direction, [string]$Family) {
  return ('rule="{0}",action="{1}",direction="{2}",family="{3}"' -f $Rule, $DropAction, $Direction, $Family)
}

function Test-AddressIn($Ranges, [string]$Hex) {
  if ($null -eq $Ranges) { return $true }
  foreach ($range in $Ranges) {
    if ($Hex.Length -eq $range[0].Length -and [string]::CompareOrdinal($Hex, $range[0]) -ge 0 -and [string]::CompareOrdinal($Hex, $range[1]) -le 0) { return $true }
  }
  return $false
}
function Test-PortIn($Ranges, [int]$Port) {
  if ($null -eq $Ranges) { return $true }
  foreach ($range in $Ranges) { if ($Port -ge $range[0] -and $Port -le $range[1]) { return $true } }
  return $false
}

# An address as fixed-width lowercase hex ('' when it is not one).
function ConvertTo-HexAddress([string]$Text) {
  $address = $null
  if (-not [System.Net.IPAddress]::TryParse($Text, [ref]$address)) { return '' }
  return [BitConverter]::ToString($address.GetAddressBytes()).Replace('-', '').ToLowerInvariant()
}

# One log line's packet in the rules' terms (remote and local by direction), or $null when it is not
# one we count. RECEIVE: inbound, the source is remote; SEND: outbound, the destination is remote.
function ConvertTo-LoggedPacket([string[]]$f) {
  if ($f[16] -eq 'RECEIVE') { $direction = 'Inbound'; $remote = $f[4]; $local = $f[5]; $remotePort = $f[6]; $localPort = $f[7] }
  elseif ($f[16] -eq 'SEND') { $direction = 'Outbound'; $remote = $f[5]; $local = $f[4]; $remotePort = $f[7]; $localPort = $f[6] }
  else { return $null }
  $remoteHex = ConvertTo-HexAddress $remote
  $localHex = ConvertTo-HexAddress $local
  if (-not $remoteHex -or -not $localHex) { return $null }
  $family = if ($remoteHex.Length -eq 32) { 'ipv6' } else { 'ipv4' }
  $protocol = switch ($f[3]) {
    { $_ -eq 'UDP' -or $_ -eq '17' } { 'UDP'; break }
    { $_ -eq 'TCP' -or $_ -eq '6' } { 'TCP'; break }
    { $_ -eq 'ICMP' -or $_ -eq '1' -or $_ -eq '58' -or $_ -eq 'ICMPv6' } { if ($family -eq 'ipv6') { 'ICMPV6' } else { 'ICMPV4' }; break }
    default { "$($f[3])".ToUpperInvariant() }
  }
  $port = { param($text) if ($text -match '^\\d+$') { [int]$text } else { 0 } }
  return New-Object PSObject -Property @{
    Direction = $direction; Protocol = $protocol; Family = $family
    RemoteHex = $remoteHex; LocalHex = $localHex; RemotePort = (& $port $remotePort); LocalPort = (& $port $localPort)
    Source = $f[4]; Destination = $f[5]; SourcePort = (& $port $f[6]); DestinationPort = (& $port $f[7])
    Size = (& $port $f[8])
  }
}

# The first rule of the table that matches the packet, or $null.
function Find-LogRule($Packet) {
  $candidates = $LogRules["$($Packet.Direction) $($Packet.Protocol)"]
  if ($null -eq $candidates) { return $null }
  foreach ($rule in $candidates) {
    if ($rule.Families -notcontains $Packet.Family) { continue }
    if (-not (Test-PortIn $rule.LocalPort $Packet.LocalPort)) { continue }
    if (-not (Test-PortIn $rule.RemotePort $Packet.RemotePort)) { continue }
    if (-not (Test-AddressIn $rule.Remote $Packet.RemoteHex)) { continue }
    if (-not (Test-AddressIn $rule.Local $Packet.LocalHex)) { continue }
    return $rule
  }
  return $null
}

# "ip:port", an IPv6 address in brackets.
function Format-Endpoint([string]$Address, [int]$Port) {
  if ($Address.Contains(':')) { return "[$Address]:$Port" }
  return "$($Address):$Port"
}

# At most ${DROP_LOG_PER_MINUTE} drop log lines a minute; how many more there were is logged once the minute is over.
function Write-DropLog($Rule, $Packet) {
  $now = [DateTime]::UtcNow
  if (($now - $script:DropLogWindow).TotalSeconds -ge 60) {
    if ($script:DropLogSkipped -gt 0) { Write-Log "drop log: $($script:DropLogSkipped) more not logged in the last minute (they are counted in hostnet_rule_packets_total)" }
    $script:DropLogWindow = $now
    $script:DropLogCount = 0
    $script:DropLogSkipped = 0
  }
  if ($script:DropLogCount -ge ${DROP_LOG_PER_MINUTE}) { $script:DropLogSkipped++; return }
  $script:DropLogCount++
  $protocol = if ($Packet.Protocol -eq 'ICMPV4') { 'icmp' } else { $Packet.Protocol.ToLowerInvariant() }
  $direction = if ($Packet.Direction -eq 'Inbound') { 'ingress' } else { 'egress' }
  Write-Output ('${DROP_LOG_PS_FORMAT}' -f $Rule.Rule, $DropAction, $protocol,
    (Format-Endpoint $Packet.Source $Packet.SourcePort), (Format-Endpoint $Packet.Destination $Packet.DestinationPort), $direction)
}

# "<last write>:<length>" of a file, '' when there is none: a new pfirewall.log.old means Windows moved
# the log there.
function Get-LogStamp([string]$Path) {
  $info = New-Object System.IO.FileInfo -ArgumentList $Path
  if (-not $info.Exists) { return '' }
  return "$($info.LastWriteTimeUtc.Ticks):$($info.Length)"
}
function Get-LogLength([string]$Path) {
  $info = New-Object System.IO.FileInfo -ArgumentList $Path
  if (-not $info.Exists) { return 0 }
  return $info.Length
}

# Adds the lines of $Path from byte $Offset on to $NewLogLines: whole lines only (the firewall may be
# writing the last one) unless $ToEnd, at most ${LOG_READ_LIMIT} bytes. Returns the bytes consumed. The
# firewall service keeps the file open: it is opened sharing read, write and delete.
function Read-LogFrom([string]$Path, [long]$Offset, [bool]$ToEnd) {
  $stream = $null
  try {
    $stream = New-Object System.IO.FileStream -ArgumentList $Path, 'Open', 'Read', 'ReadWrite, Delete'
    if ($Offset -ge $stream.Length) { return 0 }
    $null = $stream.Seek($Offset, 'Begin')
    $buffer = New-Object byte[] ([int][Math]::Min($stream.Length - $Offset, ${LOG_READ_LIMIT}))
    $read = 0
    while ($read -lt $buffer.Length) {
      $n = $stream.Read($buffer, $read, $buffer.Length - $read)
      if ($n -le 0) { break }
      $read += $n
    }
    $end = $read
    if (-not $ToEnd -and $read -gt 0) { $end = [Array]::LastIndexOf($buffer, [byte]10, $read - 1) + 1 }
    if ($end -le 0) { return 0 }
    foreach ($line in ([System.Text.Encoding]::ASCII.GetString($buffer, 0, $end) -split "\`r?\`n")) {
      if ($line) { $NewLogLines.Add($line) }
    }
    return $end
  } catch {
    return 0
  } finally {
    if ($stream) { $stream.Dispose() }
  }
}

# From now on: what the log holds already is not this pod's to count.
function Initialize-LogPosition {
  $script:LogOffset = Get-LogLength $FirewallLog
  $script:LogOldStamp = Get-LogStamp "$FirewallLog.old"
}

# Reads what the log gained since the last round, then counts and logs each of our drops in it.
function Update-DropCounts {
  $NewLogLines.Clear()
  $oldStamp = Get-LogStamp "$FirewallLog.old"
  if ($oldStamp -ne $script:LogOldStamp) {
    # Windows moved the full log to .old: its rest is there, and the new log starts at 0
    if ($oldStamp) { $null = Read-LogFrom "$FirewallLog.old" $script:LogOffset $true }
    $script:LogOldStamp = $oldStamp
    $script:LogOffset = 0
  } elseif ((Get-LogLength $FirewallLog) -lt $script:LogOffset) {
    # truncated or replaced: read it from its start
    $script:LogOffset = 0
  }
  $script:LogOffset += Read-LogFrom $FirewallLog $script:LogOffset $false
  foreach ($line in $NewLogLines) {
    if ($line.StartsWith('#')) { continue }
    $f = $line.Split(' ')
    if ($f.Count -lt 17 -or $f[2] -cne $CountedAction) { continue }
    $packet = ConvertTo-LoggedPacket $f
    if ($null -eq $packet) { continue }
    $rule = Find-LogRule $packet
    if ($null -eq $rule) { continue }
    $key = Format-RuleKey $rule.Rule $(if ($packet.Direction -eq 'Inbound') { 'ingress' } else { 'egress' }) $packet.Family
    $RulePackets[$key] = 1 + $RulePackets[$key]
    $RuleBytes[$key] = $packet.Size + $RuleBytes[$key]
    Write-DropLog $rule $packet
  }
}`;
}
