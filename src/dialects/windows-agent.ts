import { AgentOptions } from './agent-options';
import { DEFAULT_FIREWALL_NAME, hostNames, windowsMetricsGroup } from './host-names';
import { firewallLogReader } from './windows-log-reader';
import { windowsMetricsWriter } from './windows-metrics';
import { psComment, psQuote } from './windows-powershell';
import { FirewallMode } from '../policy/firewall-mode';

/** The environment variable the pod spec fills with the pod's uid (downward API, metadata.uid). */
export const WINDOWS_POD_UID_ENV = 'HOSTNET_POD_UID';

/** The files of the Windows agent, in the node directory ($Node) or this pod's directory ($Pod). */
export const WINDOWS_AGENT_FILES = {
  /** In $Node: the default firewall's last policy that passed the checks on this node, first line `# hostnet-policy <id>` (host-names.ts: others'). */
  good: hostNames(DEFAULT_FIREWALL_NAME).windowsGood,
  /** In $Pod: exists while this pod's policy (or the one it reverted to) passed its checks. */
  ready: 'ready',
  /** In $Pod: why the pod is not Ready, one line, shown by the readiness probe. */
  unready: 'unready',
  /** In $Node: the default firewall's directory of per-pod directories, named after the pod's uid (host-names.ts: others'). */
  pods: hostNames(DEFAULT_FIREWALL_NAME).windowsPods,
  /** In $Node: hostnet.prom, for the windows_exporter sidecar (read by LOCAL SERVICE, its user). */
  metrics: 'metrics',
};

/** The user the windows_exporter sidecar runs as: it may read the metrics directory, and nothing else of $Node. */
export const WINDOWS_METRICS_READER = { user: 'NT AUTHORITY\\LOCAL SERVICE', sid: 'S-1-5-19' };

/**
 * PowerShell statements that set `$Node` (the agent's directory on the host, ProgramData\cdk8s-hostnet)
 * and `$Pod` (this pod's directory in it, named after the pod's uid, under the firewall's own
 * directory of pods). run.ps1 and the readiness probe both use them, so the two always agree on
 * where the ready and unready files are. HOSTNET_NODE_DIR and HOSTNET_POD_DIR move them, for a run
 * outside a pod. The folder comes from the known-folder API, not from $env:ProgramData, which
 * depends on the environment block the container was given.
 */
export function windowsAgentDirs(name: string = DEFAULT_FIREWALL_NAME): string[] {
  const pods = hostNames(name).windowsPods;
  return [
    '$Node = if ($env:HOSTNET_NODE_DIR) { $env:HOSTNET_NODE_DIR } else { Join-Path ([Environment]::GetFolderPath(\'CommonApplicationData\')) \'cdk8s-hostnet\' }',
    `$Pod = if ($env:HOSTNET_POD_DIR) { $env:HOSTNET_POD_DIR } else { Join-Path $Node (${psQuote(`${pods}\\`)} + $env:${WINDOWS_POD_UID_ENV}) }`,
  ];
}

/** The default firewall's `$Node` and `$Pod` statements (windowsAgentDirs). */
export const WINDOWS_AGENT_DIRS: readonly string[] = windowsAgentDirs();

/**
 * The readiness probe's script (one line, for powershell.exe -Command): Ready while run.ps1 says
 * so, otherwise the reason it wrote, which the kubelet shows as the probe's message.
 */
export function renderWindowsReadiness(name: string = DEFAULT_FIREWALL_NAME): string {
  return [
    ...windowsAgentDirs(name),
    `if (Test-Path -LiteralPath (Join-Path $Pod '${WINDOWS_AGENT_FILES.ready}')) { exit 0 }`,
    `$reason = Join-Path $Pod '${WINDOWS_AGENT_FILES.unready}'`,
    'if (Test-Path -LiteralPath $reason) { Get-Content -LiteralPath $reason } else { \'hostnet: the policy is not applied yet\' }',
    'exit 1',
  ].join('; ');
}

/**
 * run.ps1: the agent's loop on a Windows node, for Windows PowerShell 5.1 in a HostProcess pod as
 * NT AUTHORITY\SYSTEM. The same behaviour as run.sh on Linux: the policy is copied once (a changed
 * ConfigMap reaches a node only with a new pod, at the DaemonSet's rollout pace), applied gated on the
 * node's health (DNS through each declared resolver, TCP to the API server: a check that passed
 * before and fails after reverts the node to its last good policy and keeps the pod not Ready), then
 * checked for drift every few seconds with a cheap comparison (apply.ps1 -State) and repaired, with
 * a full re-apply as a backstop.
 */
export function renderWindowsAgent(o: AgentOptions & { policyId: string; metricsDirectory?: string; metricsPort?: number }): string {
  if (!/^[0-9a-f]{64}$/.test(o.policyId)) throw new Error(`internal: policy id ${JSON.stringify(o.policyId)} is not a sha256 in hex`);
  for (const [key, value] of [['reapplySeconds', o.reapplySeconds], ['driftSeconds', o.driftSeconds]] as const) {
    if (!Number.isInteger(value) || value < 1) throw new Error(`internal: ${key} ${value} is not a whole number of seconds`);
  }
  const api = o.apiServer ? splitHostPort(o.apiServer) : undefined;
  // this firewall's own group and files: another NodeFirewall's agent on this host keeps its own
  const names = hostNames(o.name);
  const dnsChecks = o.dnsChecks.map((c) => `  @{ Label = ${psQuote(c.label)}; Server = ${psQuote(c.server)} }`);
  const header = [
    `cdk8s-hostnet agent of NodeFirewall '${o.name}' on a Windows node, mode ${o.mode}.`,
    'Generated by cdk8s synth: change the cdk8s app, not this file. Runs in Windows PowerShell 5.1',
    '(powershell.exe of the host) in a HostProcess pod as NT AUTHORITY\\SYSTEM.',
    '',
    '- The policy (apply.ps1, remove.ps1) is copied once, at start, into a directory of this pod only, and',
    '  only the copies ever run: a changed ConfigMap reaches this node only with a new pod, at the',
    '  DaemonSet\'s rollout pace, never through the mounted volume (the kubelet updates a mounted ConfigMap',
    '  under a running pod).',
    '- enforce/audit: the checks below run before and after the apply. A check that passed before and',
    '  fails after means this policy broke the node: it goes back to the last policy that passed here',
    '  (none: no rules), and this pod stays not Ready, so the rollout stops at this node.',
    `- Every ${o.driftSeconds}s the rules of group '${names.windowsGroup}' are compared with those just applied`,
    `  (apply.ps1 -State) and repaired when they differ, saying what changed; every ${o.reapplySeconds}s a full`,
    '  re-apply runs anyway.',
    '- remove: remove.ps1 runs, then the pod idles Ready; delete the objects once the rollout is done.',
    `- Every ${o.metricsSeconds}s (and after each apply) hostnet.prom is written for windows_exporter's textfile`,
    '  collector: drops per rule counted from the firewall log, which apply.ps1 turns on (Windows Firewall has',
    '  no per-rule counters), and a rate-limited drop log line per counted packet goes to this pod\'s log.',
  ];
  return [
    ...header.map((line) => psComment(line)),
    '',
    '$ErrorActionPreference = \'Continue\'',
    `$FirewallName = ${psQuote(o.name)}`,
    `$Policy = ${psQuote(o.policyId)}`,
    `$DriftEvery = if ($env:HOSTNET_DRIFT_SECONDS) { [int]$env:HOSTNET_DRIFT_SECONDS } else { ${o.driftSeconds} }`,
    `$ReapplyEvery = if ($env:HOSTNET_REAPPLY_SECONDS) { [int]$env:HOSTNET_REAPPLY_SECONDS } else { ${o.reapplySeconds} }`,
    '# The resolvers that must keep answering (the cluster DNS Service first), and the name asked.',
    `$DnsName = ${psQuote(o.dnsName)}`,
    dnsChecks.length ? ['$DnsChecks = @(', ...dnsChecks, ')'].join('\n') : '$DnsChecks = @()',
    api
      ? `# The API server, as the cluster declares it.\n$ApiHost = if ($env:HOSTNET_API_HOST) { $env:HOSTNET_API_HOST } else { ${psQuote(api.host)} }\n`
        + `$ApiPort = if ($env:HOSTNET_API_PORT) { $env:HOSTNET_API_PORT } else { ${psQuote(api.port)} }`
      : '# The API server: the kubernetes Service, from the pod\'s environment.\n$ApiHost = if ($env:HOSTNET_API_HOST) { $env:HOSTNET_API_HOST } else { $env:KUBERNETES_SERVICE_HOST }\n'
        + '$ApiPort = if ($env:HOSTNET_API_PORT) { $env:HOSTNET_API_PORT } else { $env:KUBERNETES_SERVICE_PORT }',
    '',
    '# The mounted ConfigMap: read once, below. $Node and $Pod: see the readiness probe, which shares them.',
    '$Scripts = if ($env:HOSTNET_SCRIPTS) { $env:HOSTNET_SCRIPTS } else { $PSScriptRoot }',
    ...windowsAgentDirs(o.name),
    `$PodsRoot = Join-Path $Node ${psQuote(names.windowsPods)}`,
    '$PodApply = Join-Path $Pod \'apply.ps1\'',
    '$PodRemove = Join-Path $Pod \'remove.ps1\'',
    `$Good = Join-Path $Node ${psQuote(names.windowsGood)}`,
    `$Ready = Join-Path $Pod '${WINDOWS_AGENT_FILES.ready}'`,
    `$Unready = Join-Path $Pod '${WINDOWS_AGENT_FILES.unready}'`,
    '$PowerShell = Join-Path $PSHOME \'powershell.exe\'',
    '# SYSTEM and Administrators: the only owners whose files this agent runs (as SYSTEM).',
    '$TrustedOwners = @(\'S-1-5-18\', \'S-1-5-32-544\')',
    '$Enforced = $null',
    '$Reverts = 0',
    '$DriftRepairs = 0',
    o.metricsDirectory === undefined
      ? `# hostnet.prom goes here, for the windows_exporter sidecar.\n$MetricsDir = if ($env:HOSTNET_METRICS_DIR) { $env:HOSTNET_METRICS_DIR } else { Join-Path $Node '${WINDOWS_AGENT_FILES.metrics}' }`
      : `# hostnet.prom goes here, for the windows_exporter the cluster runs (its --collector.textfile.directories).\n$MetricsDir = if ($env:HOSTNET_METRICS_DIR) { $env:HOSTNET_METRICS_DIR } else { ${psQuote(o.metricsDirectory)} }`,
    `$MetricsEvery = ${o.metricsSeconds}`,
    `$MetricsGroup = ${psQuote(windowsMetricsGroup(names))}`,
    o.metricsPort === undefined ? '# No metrics sidecar: no port to open.\n$MetricsPort = 0'
      : `# The windows_exporter sidecar's port: Windows blocks unsolicited inbound TCP unless a rule allows it.\n$MetricsPort = ${o.metricsPort}`,
    '',
    FUNCTIONS,
    '',
    firewallLogReader(o.mode),
    '',
    windowsMetricsWriter({ mode: o.mode, backend: o.backend, version: o.version, file: names.metricsFile, label: names.metricsLabel }),
    '',
    START,
    o.mode === FirewallMode.REMOVE ? REMOVE_LOOP : ENFORCE_LOOP,
  ].join('\n');
}

// Functions that run a script or log are called as statements, never as `$x = F`: their output (the
// script's, the log lines) must reach the pod's log, not a variable. They hand results back in
// $script: variables.
const FUNCTIONS = `function Write-Log([string]$Message) { Write-Output "hostnet: $Message" }

function Set-Ready {
  [System.IO.File]::WriteAllText($Ready, "policy $Policy")
  Remove-Item -LiteralPath $Unready -Force -ErrorAction SilentlyContinue
}
function Set-Unready([string]$Reason) {
  [System.IO.File]::WriteAllText($Unready, "hostnet: $Reason")
  Remove-Item -LiteralPath $Ready -Force -ErrorAction SilentlyContinue
  Write-Log $Reason
}

# Runs apply.ps1 or remove.ps1 (this pod's copy, or the node's last good policy) in its own
# powershell.exe: the scripts end with exit, and the host lock they take is released when that
# process ends, even when it is killed. Its output goes to this pod's log; $script:ExitCode says how
# it ended.
function Invoke-PolicyScript([string]$Path, [string[]]$Arguments = @()) {
  try {
    & $PowerShell -NoLogo -NoProfile -NonInteractive -ExecutionPolicy Bypass -File $Path @Arguments
    $script:ExitCode = $LASTEXITCODE
  } catch {
    Write-Log "cannot run $($Path): $($_.Exception.Message)"
    $script:ExitCode = 1
  }
}

# What of ours is in force: the lines the enforced script prints with -State, joined; $null when they
# cannot be read ($script:StateError says why). It runs in this process: a new powershell.exe loading
# the NetSecurity module every few seconds would cost more than the check itself. -State changes
# nothing and ends with exit 0, which ends only that script.
function Get-PolicyState([string]$Path) {
  try {
    $lines = @(& $Path -State)
    return ($lines -join "\`n")
  } catch {
    $script:StateError = $_.Exception.Message
    return $null
  }
}

# DNS: any reply counts, even NXDOMAIN: it proves that queries reach the server and answers come back.
# Resolve-DnsName throws a Win32Exception whose NativeErrorCode (and FullyQualifiedErrorId) names the
# outcome: 9001-9018 are DNS_ERROR_RCODE_* (the server answered with an error code: NXDOMAIN is 9003
# DNS_ERROR_RCODE_NAME_ERROR, SERVFAIL 9002, REFUSED 9005), 9501 DNS_INFO_NO_RECORDS (it answered,
# without an A record). Anything else is no reply: ERROR_TIMEOUT (1460, category OperationTimeout:
# no answer came back), a socket error (a firewall may fail the send itself), no route. The error category alone cannot tell them
# apart reliably (NXDOMAIN and SERVFAIL are both ResourceUnavailable), so the code decides.
function Test-DnsReply([string]$Server) {
  try {
    $null = Resolve-DnsName -Name $DnsName -Server $Server -Type A -DnsOnly -NoHostsFile -QuickTimeout -ErrorAction Stop
    return $true
  } catch {
    $code = 0
    if ($_.Exception -is [System.ComponentModel.Win32Exception]) { $code = $_.Exception.NativeErrorCode }
    $id = "$($_.FullyQualifiedErrorId)"
    return (($code -ge 9001 -and $code -le 9018) -or $code -eq 9501 -or $id -like 'DNS_ERROR_RCODE_*' -or $id -like 'DNS_INFO_NO_RECORDS*')
  }
}

# TCP: a connection within 3 s.
function Test-TcpConnect([string]$TargetHost, [int]$Port) {
  $address = $null
  if ([System.Net.IPAddress]::TryParse($TargetHost, [ref]$address)) {
    $client = New-Object System.Net.Sockets.TcpClient -ArgumentList $address.AddressFamily
  } else {
    $client = New-Object System.Net.Sockets.TcpClient
  }
  try {
    $connect = $client.ConnectAsync($TargetHost, $Port)
    return ($connect.Wait(3000) -and $client.Connected)
  } catch {
    return $false
  } finally {
    $client.Close()
  }
}

# The checks that pass, one word each.
function Get-PassingChecks {
  foreach ($check in $DnsChecks) {
    if (Test-DnsReply $check.Server) { 'dns:{0}:{1}' -f $check.Label, $check.Server }
  }
  if ($ApiHost -and $ApiPort) {
    if (Test-TcpConnect $ApiHost $ApiPort) { 'tcp:api-server:{0}:{1}' -f $ApiHost, $ApiPort }
  }
}
# The checks in $Before that fail now.
function Get-LostChecks([string[]]$Before) {
  $after = @(Get-PassingChecks)
  foreach ($check in $Before) {
    if ($after -notcontains $check) { $check }
  }
}

# The last policy that passed the checks on this node, kept on the host for the next pod: written to
# a temporary file first, then moved over the old one, so no reader ever sees half a policy.
# (Move-Item -Force in Windows PowerShell deletes the old file just before the rename: for that
# instant there is none, which reads as "no earlier policy".)
function Save-GoodPolicy {
  $temp = "$Good.$PID"
  try {
    [System.IO.File]::WriteAllText($temp, "# hostnet-policy $Policy\`n" + [System.IO.File]::ReadAllText($PodApply))
    Move-Item -LiteralPath $temp -Destination $Good -Force -ErrorAction Stop
  } catch {
    Write-Log "cannot keep policy $Policy as this node's last good one: $($_.Exception.Message)"
  }
}
# The id of the node's last good policy, or '' when there is none.
function Get-GoodPolicyId {
  if (-not (Test-Path -LiteralPath $Good -PathType Leaf)) { return '' }
  $first = Get-Content -LiteralPath $Good -TotalCount 1 -ErrorAction SilentlyContinue
  if ("$first" -match '^# hostnet-policy ([0-9a-f]{64})\\s*$') { return $Matches[1] }
  return ''
}

# Applies this pod's policy gated on health. Sets $script:Enforced to the script whose rules stay in
# force ($null: none), and $script:ApplyFailed when the apply itself failed (apply.ps1 said what is
# in force).
function Invoke-GatedApply {
  $script:ApplyFailed = $false
  $before = @(Get-PassingChecks)
  Invoke-TimedApply $PodApply
  if ($script:ExitCode -ne 0) { $script:ApplyFailed = $true; return }
  $script:Enforced = $PodApply
  $script:EnforcedPolicy = $Policy
  $lost = @(Get-LostChecks $before)
  $tries = 1
  while ($lost.Count -gt 0 -and $tries -lt 3) {
    Start-Sleep -Seconds 1
    $lost = @(Get-LostChecks $before)
    $tries++
  }
  if ($lost.Count -eq 0) {
    Save-GoodPolicy
    Write-Log "policy $Policy applied; checks passing: $($before -join ' ')"
    Set-Ready
    return
  }
  $broke = $lost -join ' '
  $goodId = Get-GoodPolicyId
  $script:Reverts++
  if ($goodId -and $goodId -ne $Policy) {
    Invoke-TimedApply $Good
    if ($script:ExitCode -eq 0) {
      $script:Enforced = $Good
      $script:EnforcedPolicy = $goodId
      Set-Unready "policy $Policy broke $broke on this node: reverted to policy $goodId, the last that passed here"
      return
    }
    $why = "policy $goodId, the last that passed here, failed to apply"
  } elseif ($goodId -eq $Policy) {
    Set-Unready "policy $Policy (already in force) now fails $($broke): left as it is"
    return
  } else {
    $why = 'no earlier policy passed here'
  }
  Invoke-PolicyScript $PodRemove
  $script:Enforced = $null
  $script:EnforcedPolicy = ''
  if ($script:ExitCode -eq 0) {
    Set-Unready "policy $Policy broke $broke on this node: reverted to no rules ($why)"
  } else {
    Set-Unready "policy $Policy broke $broke on this node, and removing its rules failed ($why): see the log"
  }
}

# Rule name -> its -State line; a rule that -State found not as declared carries a mark.
function ConvertTo-RuleMap([string]$Text) {
  $map = @{}
  $lines = @($Text -split "\`n")
  foreach ($line in $lines) {
    if ($line -match '^rule (.+?) \\| ') { $map[$Matches[1]] = $line }
  }
  foreach ($line in $lines) {
    if ($line -match '^changed (.+)$' -and $map.ContainsKey($Matches[1])) { $map[$Matches[1]] += ' (not as declared)' }
  }
  return $map
}
function Format-Names([string[]]$Names) {
  if ($Names.Count -eq 0) { return 'none' }
  return ($Names -join ', ')
}
# Says which rules went missing, changed or appeared since the apply, and counts the repair. Sets
# $script:DriftChanged to the changed rules' names: the re-apply re-creates them (apply.ps1 -Recreate),
# since it compares neither address nor port filters itself.
function Write-DriftReport([string]$Now, [string]$Applied) {
  $was = ConvertTo-RuleMap $Applied
  $is = ConvertTo-RuleMap $Now
  $missing = @($was.Keys | Where-Object { -not $is.ContainsKey($_) } | Sort-Object)
  $appeared = @($is.Keys | Where-Object { -not $was.ContainsKey($_) } | Sort-Object)
  $changed = @($is.Keys | Where-Object { $was.ContainsKey($_) -and $was[$_] -cne $is[$_] } | Sort-Object)
  $script:DriftRepairs++
  $script:DriftChanged = @($changed | Where-Object { $_ -match '^[A-Za-z0-9._-]+$' })
  Write-Log "drift: rules of ours changed on this node; repairing (repair $($script:DriftRepairs) of this pod). Missing: $(Format-Names $missing). Changed: $(Format-Names $changed). Appeared: $(Format-Names $appeared)."
  foreach ($name in @($changed | Select-Object -First 20)) {
    Write-Log "drift: was $($was[$name])"
    Write-Log "drift: now $($is[$name])"
  }
}

# Lets Prometheus reach the metrics sidecar: an inbound Allow rule for its port, in a group of its own
# ($MetricsGroup: apply.ps1 prunes its own group and would remove it; remove.ps1 removes both).
# An Allow rule never overrides a Block rule, so it cannot open what the policy blocks.
function Open-MetricsPort {
  if ($MetricsPort -le 0) { return }
  $name = "$MetricsGroup-tcp-$MetricsPort"
  $group = $MetricsGroup
  Get-NetFirewallRule -Group $group -PolicyStore PersistentStore -ErrorAction SilentlyContinue | Where-Object { $_.Name -ne $name } | Remove-NetFirewallRule
  if (Get-NetFirewallRule -Name $name -PolicyStore PersistentStore -ErrorAction SilentlyContinue) { return }
  New-NetFirewallRule -Name $name -DisplayName "$($FirewallName): metrics (windows_exporter) on TCP $MetricsPort" -Group $group -Direction Inbound -Action Allow -Protocol TCP -LocalPort $MetricsPort -Profile Any -PolicyStore PersistentStore | Out-Null
}

# Marks this pod's directory as in use: directories of pods gone for a day are removed at start.
function Update-PodDirectory {
  try { [System.IO.Directory]::SetLastWriteTimeUtc($Pod, [DateTime]::UtcNow) } catch { }
}

# Throws when a directory or file this agent trusts is owned by anyone but SYSTEM or Administrators:
# by default every user may create folders and files under ProgramData, and this agent runs what it
# finds there as SYSTEM.
function Assert-TrustedOwner([string]$Path) {
  if (-not (Test-Path -LiteralPath $Path)) { return }
  $owner = (Get-Acl -LiteralPath $Path).GetOwner([System.Security.Principal.SecurityIdentifier]).Value
  if ($TrustedOwners -notcontains $owner) {
    throw "$Path is owned by $owner, not by SYSTEM or Administrators: someone else may have planted it; delete it"
  }
}
# Only SYSTEM and Administrators may write under $Node (inherited by every file and directory in it).
function Protect-NodeDirectory {
  $acl = New-Object System.Security.AccessControl.DirectorySecurity
  $acl.SetAccessRuleProtection($true, $false)
  foreach ($sid in $TrustedOwners) {
    $identity = New-Object System.Security.Principal.SecurityIdentifier -ArgumentList $sid
    $acl.AddAccessRule((New-Object System.Security.AccessControl.FileSystemAccessRule -ArgumentList $identity, 'FullControl', 'ContainerInherit, ObjectInherit', 'None', 'Allow'))
  }
  [System.IO.Directory]::SetAccessControl($Node, $acl)
}
# The windows_exporter sidecar runs as LOCAL SERVICE: it may read the metrics directory under $Node.
function Grant-MetricsReader {
  if (-not $MetricsDir.StartsWith($Node + '\\', [StringComparison]::OrdinalIgnoreCase)) { return }
  $null = [System.IO.Directory]::CreateDirectory($MetricsDir)
  $acl = [System.IO.Directory]::GetAccessControl($MetricsDir)
  $reader = New-Object System.Security.Principal.SecurityIdentifier -ArgumentList '${WINDOWS_METRICS_READER.sid}'
  $acl.AddAccessRule((New-Object System.Security.AccessControl.FileSystemAccessRule -ArgumentList $reader, 'ReadAndExecute', 'ContainerInherit, ObjectInherit', 'None', 'Allow'))
  [System.IO.Directory]::SetAccessControl($MetricsDir, $acl)
}`;

const START = `# Start: this pod's directory, then the frozen copy of the policy.
if (-not $env:HOSTNET_POD_DIR -and -not $env:${WINDOWS_POD_UID_ENV}) {
  Write-Log '${WINDOWS_POD_UID_ENV} is not set (the pod spec sets it from metadata.uid): no directory for this pod'
  exit 1
}
try {
  Assert-TrustedOwner $Node
  $null = [System.IO.Directory]::CreateDirectory($Node)
  try { Protect-NodeDirectory } catch { Write-Log "cannot restrict $Node to SYSTEM and Administrators: $($_.Exception.Message)" }
  try { Grant-MetricsReader } catch { Write-Log "cannot let the metrics sidecar read $($MetricsDir): $($_.Exception.Message)" }
  Assert-TrustedOwner $PodsRoot
  Assert-TrustedOwner $Good
  $null = [System.IO.Directory]::CreateDirectory($Pod)
} catch {
  Write-Log "cannot prepare this pod's directory $($Pod): $($_.Exception.Message)"
  exit 1
}
# a restarted container finds its pod's directory as it left it: its verdict is not this run's
Remove-Item -LiteralPath $Ready, $Unready -Force -ErrorAction SilentlyContinue
Get-ChildItem -LiteralPath $PodsRoot -Directory -ErrorAction SilentlyContinue |
  Where-Object { $_.Name -match '^[0-9A-Fa-f-]+$' -and $_.FullName -ne $Pod -and $_.LastWriteTimeUtc -lt [DateTime]::UtcNow.AddDays(-1) } |
  Remove-Item -Recurse -Force -ErrorAction SilentlyContinue

# The policy this pod enforces is copied once, here, and only the copies run from now on. A changed
# ConfigMap then reaches this node only through a new pod, at the DaemonSet's rollout pace (one node
# at a time, each checked), never through the mounted volume, which the kubelet updates under a
# running pod: whoever may edit the ConfigMap cannot run new code on every node at once.
foreach ($file in @('apply.ps1', 'remove.ps1')) {
  try {
    [System.IO.File]::WriteAllBytes((Join-Path $Pod $file), [System.IO.File]::ReadAllBytes((Join-Path $Scripts $file)))
  } catch {
    Write-Log "cannot copy $file from $Scripts to $($Pod): $($_.Exception.Message)"
    exit 1
  }
}
`;

const ENFORCE_LOOP = `Invoke-GatedApply
# after the apply: a revert to no rules runs remove.ps1, which removes every cdk8s-hostnet-* rule
try { Open-MetricsPort } catch { Write-Log "cannot open TCP $MetricsPort for the metrics sidecar: $($_.Exception.Message)" }
if ($ApplyFailed) {
  Set-Unready "the first apply of policy $Policy failed"
  Write-Metrics
  exit 1
}
$applied = $null
if ($Enforced) {
  $applied = Get-PolicyState $Enforced
  Import-LogTable $Enforced
}
Initialize-LogPosition
Write-Metrics
$since = 0
$unwritten = 0
$retry = $false
while ($true) {
  Start-Sleep -Seconds $DriftEvery
  Update-PodDirectory
  if ($Enforced) { Update-DropCounts }
  $unwritten += $DriftEvery
  if ($unwritten -ge $MetricsEvery) { $unwritten = 0; Write-Metrics }
  if (-not $Enforced) { continue }
  $since += $DriftEvery
  $recreate = @()
  if ($retry -or $since -ge $ReapplyEvery) {
    $since = 0
  } else {
    $now = Get-PolicyState $Enforced
    if ($null -eq $now) {
      Write-Log "drift check failed: $StateError"
      continue
    }
    if ($null -ne $applied) {
      if ($now -ceq $applied) { continue }
      Write-DriftReport $now $applied
      $recreate = $DriftChanged
    }
  }
  $arguments = @()
  if ($recreate.Count -gt 0) { $arguments = @('-Recreate', ($recreate -join ',')) }
  Invoke-TimedApply $Enforced $arguments
  Write-Metrics
  if ($ExitCode -eq 0) {
    $retry = $false
    # the first apply's state stays the reference: a change made while this re-apply ran would
    # otherwise become part of it
    if ($null -eq $applied) { $applied = Get-PolicyState $Enforced }
  } else {
    $retry = $true
    Write-Log "re-apply failed; retrying in $($DriftEvery)s"
  }
}
`;

const REMOVE_LOOP = `while ($true) {
  Invoke-PolicyScript $PodRemove
  if ($ExitCode -eq 0) { break }
  Set-Unready 'remove.ps1 failed; retrying in 10s'
  Start-Sleep -Seconds 10
}
Remove-Item -LiteralPath $Good -Force -ErrorAction SilentlyContinue
Set-Ready
Write-Metrics
Write-Log "NodeFirewall $FirewallName removed from this node; idle. Delete the objects once every node is Ready."
while ($true) {
  Start-Sleep -Seconds 3600
  Update-PodDirectory
}
`;

/** `host:port` or `[v6]:port` into its parts. */
function splitHostPort(value: string): { host: string; port: string } {
  const at = value.lastIndexOf(':');
  return { host: value.slice(0, at).replace(/^\[(.*)\]$/, '$1'), port: value.slice(at + 1) };
}
