// The Windows agent (run.ps1), its readiness probe and apply.ps1's -State mode, read as syntax trees
// (tree-sitter-powershell): nothing here can run PowerShell, so the tests check that every script
// parses and that its structure does what the Linux agent does (test/e2e/agent.e2e.test.ts).
import { createHash } from 'crypto';
import fc from 'fast-check';
import { Node } from 'web-tree-sitter';
import { allNodes, parsePowerShell, parseProblems, treeShape, verbatimValue } from './powershell-parser';
import { AgentOptions } from '../../src/dialects/agent-options';
import { WINDOWS_AGENT_DIRS, WINDOWS_AGENT_FILES, WINDOWS_POD_UID_ENV, renderWindowsAgent, renderWindowsReadiness } from '../../src/dialects/windows-agent';
import { STATE_PARAMETERS } from '../../src/dialects/windows-firewall';
import { FirewallMode } from '../../src/policy/firewall-mode';
import { findObject, synthProfile, windowsScripts } from '../util/synth';

const MODES = [FirewallMode.ENFORCE, FirewallMode.AUDIT, FirewallMode.REMOVE];

/** The synthesized k2s Windows ConfigMap and container for a mode. */
function synthWindows(mode: FirewallMode) {
  const objects = synthProfile('k2s', { mode });
  return {
    scripts: windowsScripts(objects),
    container: findObject(objects, 'DaemonSet', 'hostnet-windows').spec.template.spec.containers[0],
  };
}

// asserted rather than declared: options the Windows loop does not read may be added to AgentOptions
const OPTIONS = {
  name: 'hostnet',
  mode: FirewallMode.ENFORCE,
  policyId: 'a'.repeat(64),
  reapplySeconds: 300,
  driftSeconds: 10,
  dnsChecks: [{ label: 'cluster-dns', server: '172.21.0.10' }, { label: 'upstream', server: '2001:db8::53' }],
  dnsName: 'kubernetes.default.svc.cluster.local',
  apiServer: '172.19.1.100:6443',
} as AgentOptions;

/** The script's statements at the top level, in order (comments left out). */
function topStatements(root: Node): Node[] {
  const list = root.children.find((c) => c?.type === 'statement_list');
  return (list?.children ?? []).filter((c): c is Node => c !== null && c.type !== 'comment');
}

/** The body of `function <name>`. */
function functionNamed(root: Node, name: string): Node {
  const found = [...allNodes(root)].find((n) => n.type === 'function_statement'
    && n.children.find((c) => c?.type === 'function_name')?.text.toLowerCase() === name.toLowerCase());
  if (!found) throw new Error(`no function ${name}`);
  return found;
}

/** The command calls named `name` under a node, as their text. */
function calls(node: Node, name: string): string[] {
  return [...allNodes(node)]
    .filter((n) => n.type === 'command' && n.childForFieldName('command_name')?.text.toLowerCase() === name.toLowerCase())
    .map((n) => n.text.replace(/\s+/g, ' '));
}

/** `$name` variables under a node (PowerShell names are case-insensitive). */
function variables(node: Node, name: string): Node[] {
  return [...allNodes(node)].filter((n) => n.type === 'variable' && n.text.toLowerCase() === `$${name.toLowerCase()}`);
}

/** The value of a literal psQuote wrote: any of PowerShell's single quotes, doubled, stands for itself. */
function quotedValue(literal: Node): string {
  if (literal.type !== 'string_literal' || !/^'[\s\S]*'$/.test(literal.text)) throw new Error(`not a single-quoted literal: ${literal.text}`);
  return literal.text.slice(1, -1).replace(/(['\u2018\u2019\u201a\u201b])\1/g, '$1');
}

/** Index of the first top-level statement whose text matches. */
function indexOf(statements: Node[], pattern: RegExp): number {
  return statements.findIndex((s) => pattern.test(s.text));
}

describe('run.ps1, apply.ps1, remove.ps1 and the readiness probe parse (tree-sitter-powershell)', () => {
  test.each(MODES)('mode %s: every script of the ConfigMap and the probe has no ERROR or MISSING node', async (mode) => {
    // GIVEN
    const { scripts, container } = synthWindows(mode);
    const probe = container.readinessProbe.exec.command;
    // WHEN
    const trees = {
      'apply.ps1': await parsePowerShell(scripts.apply),
      'remove.ps1': await parsePowerShell(scripts.remove),
      'run.ps1': await parsePowerShell(scripts.run),
      'readiness': await parsePowerShell(probe[probe.length - 1]),
    };
    // THEN
    for (const [name, tree] of Object.entries(trees)) expect({ name, problems: parseProblems(tree) }).toEqual({ name, problems: [] });
    // ASCII: powershell.exe 5.1 reads BOM-less files as ANSI
    expect(scripts.run).toMatch(/^[\x20-\x7e\n]*$/);
  });

  test('no "$name:" in an expandable string: PowerShell reads it as a scope or drive and refuses the script', async () => {
    for (const mode of MODES) {
      const { scripts } = synthWindows(mode);
      for (const script of [scripts.run, scripts.apply, scripts.remove]) {
        const strings = [...allNodes((await parsePowerShell(script)).rootNode)].filter((n) => n.type === 'expandable_string_literal');
        const bad = strings.filter((n) => /\$(?!(env|script|global|local|private):)[A-Za-z_][A-Za-z0-9_]*:/i.test(n.text));
        expect(bad.map((n) => n.text)).toEqual([]);
      }
    }
  });

  test('the parameters of apply.ps1 are never assigned to (PowerShell variable names ignore case)', async () => {
    const root = (await parsePowerShell(synthWindows(FirewallMode.ENFORCE).scripts.apply)).rootNode;
    const assigned = [...allNodes(root)].filter((n) => n.type === 'assignment_expression').map((n) => n.firstChild!.text.trim().toLowerCase());
    expect(assigned).not.toContain('$state');
    expect(assigned).not.toContain('$recreate');
  });
});

describe('run.ps1', () => {
  test('names the policy by a 64-hex constant: sha256 of apply.ps1, NUL, remove.ps1 of the same ConfigMap', async () => {
    // GIVEN
    const { scripts } = synthWindows(FirewallMode.ENFORCE);
    const expected = createHash('sha256').update(scripts.apply).update('\0').update(scripts.remove).digest('hex');
    // WHEN
    const statements = topStatements((await parsePowerShell(scripts.run)).rootNode);
    const policy = statements.find((s) => /^\$Policy\s*=/.test(s.text))!;
    // THEN
    const literal = [...allNodes(policy)].find((n) => n.type === 'string_literal')!;
    expect(verbatimValue(literal)).toMatch(/^[0-9a-f]{64}$/);
    expect(verbatimValue(literal)).toBe(expected);
    expect(() => renderWindowsAgent({ ...OPTIONS, policyId: 'not-a-hash' })).toThrow('is not a sha256 in hex');
  });

  test('copies apply.ps1 and remove.ps1 once, before the loop, and never reads the mounted path again', async () => {
    // GIVEN
    for (const mode of MODES) {
      const root = (await parsePowerShell(synthWindows(mode).scripts.run)).rootNode;
      const statements = topStatements(root);
      // WHEN
      const copy = indexOf(statements, /^foreach \(\$file in @\('apply\.ps1', 'remove\.ps1'\)\)/);
      const loop = statements.findIndex((s) => s.type === 'while_statement');
      const scriptsAssigned = indexOf(statements, /^\$Scripts\s*=/);
      // THEN the copy is a top-level statement (runs once), before the first apply and the loop
      expect(copy).toBeGreaterThan(scriptsAssigned);
      expect(loop).toBeGreaterThan(copy);
      expect(statements[copy].text).toContain('[System.IO.File]::WriteAllBytes((Join-Path $Pod $file), [System.IO.File]::ReadAllBytes((Join-Path $Scripts $file)))');
      const firstRun = statements.findIndex((s) => /Invoke-GatedApply|Invoke-PolicyScript/.test(s.text) && s.type !== 'function_statement');
      expect(firstRun).toBeGreaterThan(copy);
      // ... and $Scripts (the mount) is used nowhere else: not in a function, not in the loop
      const uses = variables(root, 'Scripts');
      const inside = (node: Node, statement: Node) => node.startIndex >= statement.startIndex && node.endIndex <= statement.endIndex;
      expect(uses.length).toBeGreaterThan(1);
      for (const use of uses) expect(inside(use, statements[copy]) || inside(use, statements[scriptsAssigned])).toBe(true);
      expect(variables(root, 'PSScriptRoot').every((use) => inside(use, statements[scriptsAssigned]))).toBe(true);
      expect(root.text).not.toContain('CONTAINER_SANDBOX_MOUNT_POINT');
      // every script it runs is a copy in this pod's directory, or the node's last good policy
      // (Invoke-TimedApply, an apply that records its outcome for the metrics, hands its $Path to Invoke-PolicyScript)
      const runs = [...calls(root, 'Invoke-PolicyScript'), ...calls(root, 'Invoke-TimedApply')].map((c) => c.split(' ')[1]);
      expect(new Set(runs)).toEqual(new Set(['$PodApply', '$PodRemove', '$Good', '$Path', ...(mode === FirewallMode.REMOVE ? [] : ['$Enforced'])]));
      expect(calls(functionNamed(root, 'Invoke-TimedApply'), 'Invoke-PolicyScript')).toEqual(['Invoke-PolicyScript $Path $Arguments']);
      const assigned = [...allNodes(root)].filter((n) => n.type === 'assignment_expression' && /^\$(script:)?Enforced$/i.test(n.firstChild!.text.trim()));
      expect(new Set(assigned.map((n) => n.text.replace(/^\S+\s*=\s*/, '')))).toEqual(new Set(['$null', '$PodApply', '$Good']));
    }
  });

  test('the pod\'s directory is under ProgramData\\cdk8s-hostnet, named after the pod uid, restricted to SYSTEM and Administrators', async () => {
    const run = synthWindows(FirewallMode.ENFORCE).scripts.run;
    for (const line of WINDOWS_AGENT_DIRS) expect(run).toContain(`\n${line}\n`);
    expect(WINDOWS_AGENT_DIRS.join('\n')).toContain('[Environment]::GetFolderPath(\'CommonApplicationData\')) \'cdk8s-hostnet\'');
    expect(WINDOWS_AGENT_DIRS.join('\n')).toContain(`('pods\\' + $env:${WINDOWS_POD_UID_ENV})`);
    const root = (await parsePowerShell(run)).rootNode;
    const statements = topStatements(root);
    const prepare = statements.find((s) => s.type === 'try_statement' && s.text.includes('CreateDirectory($Pod)'))!;
    // a directory or good policy someone else planted is refused before anything runs from it
    expect(prepare.text.indexOf('Assert-TrustedOwner $Node')).toBeLessThan(prepare.text.indexOf('CreateDirectory($Node)'));
    expect(prepare.text).toContain('Assert-TrustedOwner $Good');
    expect(functionNamed(root, 'Protect-NodeDirectory').text).toContain('SetAccessRuleProtection($true, $false)');
    // pod directories gone for a day are removed, never this pod's
    expect(run).toMatch(/\$_\.FullName -ne \$Pod -and \$_\.LastWriteTimeUtc -lt \[DateTime\]::UtcNow\.AddDays\(-1\)/);
  });

  test('enforce: checks before and after the apply, three tries a second apart, then the revert in order', async () => {
    // GIVEN
    const root = (await parsePowerShell(synthWindows(FirewallMode.ENFORCE).scripts.run)).rootNode;
    // WHEN
    const gated = functionNamed(root, 'Invoke-GatedApply').text;
    const at = (text: string) => {
      const i = gated.indexOf(text);
      if (i < 0) throw new Error(`Invoke-GatedApply has no ${text}`);
      return i;
    };
    // THEN checks, apply, checks again (3 tries, 1 s apart), then keep or revert
    expect(at('$before = @(Get-PassingChecks)')).toBeLessThan(at('Invoke-TimedApply $PodApply'));
    expect(at('Invoke-TimedApply $PodApply')).toBeLessThan(at('$lost = @(Get-LostChecks $before)'));
    expect(gated).toContain('while ($lost.Count -gt 0 -and $tries -lt 3) {\n    Start-Sleep -Seconds 1');
    // success: the policy becomes the node's good one, then Ready
    expect(at('Save-GoodPolicy')).toBeLessThan(at('Set-Ready'));
    // revert: another good policy first, then "already in force", then no rules (first install)
    expect(at('$goodId = Get-GoodPolicyId')).toBeGreaterThan(at('Set-Ready'));
    expect(at('if ($goodId -and $goodId -ne $Policy) {')).toBeLessThan(at('Invoke-TimedApply $Good'));
    expect(at('Invoke-TimedApply $Good')).toBeLessThan(at('$script:Enforced = $Good'));
    expect(at('$script:Enforced = $Good')).toBeLessThan(at('} elseif ($goodId -eq $Policy) {'));
    expect(at('} elseif ($goodId -eq $Policy) {')).toBeLessThan(at('Invoke-PolicyScript $PodRemove'));
    expect(at('Invoke-PolicyScript $PodRemove')).toBeLessThan(at('$script:Enforced = $null'));
    const leftAsIs = gated.slice(at('} elseif ($goodId -eq $Policy) {'), at('} else {'));
    expect(leftAsIs).not.toContain('Invoke-PolicyScript');
    expect(leftAsIs).toContain('(already in force) now fails');
    // the reasons are the Linux agent's, and each goes to the unready file and the log
    expect(gated).toContain('Set-Unready "policy $Policy broke $broke on this node: reverted to policy $goodId, the last that passed here"');
    expect(gated).toContain('reverted to no rules ($why)');
    expect(gated).toContain('$why = \'no earlier policy passed here\'');
    const unready = functionNamed(root, 'Set-Unready').text;
    expect(unready).toContain('WriteAllText($Unready, "hostnet: $Reason")');
    expect(unready).toContain('Write-Log $Reason');
    expect(functionNamed(root, 'Write-Log').text).toContain('Write-Output "hostnet: $Message"');
  });

  test('the node\'s good policy: a temporary file moved over the old one, first line "# hostnet-policy <id>"', async () => {
    const root = (await parsePowerShell(synthWindows(FirewallMode.ENFORCE).scripts.run)).rootNode;
    const save = functionNamed(root, 'Save-GoodPolicy');
    expect(save.text).toContain('$temp = "$Good.$PID"');
    expect(save.text).toContain('[System.IO.File]::WriteAllText($temp, "# hostnet-policy $Policy`n" + [System.IO.File]::ReadAllText($PodApply))');
    expect(calls(save, 'Move-Item')).toEqual(['Move-Item -LiteralPath $temp -Destination $Good -Force -ErrorAction Stop']);
    expect(save.text.indexOf('WriteAllText($temp')).toBeLessThan(save.text.indexOf('Move-Item'));
    const read = functionNamed(root, 'Get-GoodPolicyId').text;
    expect(read).toContain('Get-Content -LiteralPath $Good -TotalCount 1');
    expect(read).toContain('-match \'^# hostnet-policy ([0-9a-f]{64})\\s*$\'');
    expect(WINDOWS_AGENT_FILES.good).toBe('good-apply.ps1');
  });

  test('DNS: Resolve-DnsName with -DnsOnly -QuickTimeout; a reply with an error code (NXDOMAIN) counts, a timeout does not', async () => {
    const root = (await parsePowerShell(synthWindows(FirewallMode.ENFORCE).scripts.run)).rootNode;
    const dns = functionNamed(root, 'Test-DnsReply');
    expect(calls(dns, 'Resolve-DnsName')).toEqual(['Resolve-DnsName -Name $DnsName -Server $Server -Type A -DnsOnly -NoHostsFile -QuickTimeout -ErrorAction Stop']);
    const handler = [...allNodes(dns)].find((n) => n.type === 'catch_clause')!.text;
    expect(handler).toContain('$_.Exception -is [System.ComponentModel.Win32Exception]');
    // 9003 (NXDOMAIN) is in the range of RCODE errors; 1460 (ERROR_TIMEOUT) is not
    expect(handler).toContain('($code -ge 9001 -and $code -le 9018) -or $code -eq 9501');
    expect(handler).toContain('$id -like \'DNS_ERROR_RCODE_*\'');
    expect(handler).not.toMatch(/TIMEOUT|1460/);
    const tcp = functionNamed(root, 'Test-TcpConnect').text;
    expect(tcp).toContain('New-Object System.Net.Sockets.TcpClient');
    expect(tcp).toContain('$connect = $client.ConnectAsync($TargetHost, $Port)');
    expect(tcp).toContain('return ($connect.Wait(3000) -and $client.Connected)');
    expect(tcp).toContain('$client.Close()');
  });

  test('the checks: every declared resolver, the API server as declared or from the pod\'s environment, all single-quoted', async () => {
    // GIVEN an IPv6 API server and one without
    const v6 = renderWindowsAgent({ ...OPTIONS, apiServer: '[fd00::1]:6443' });
    const env = renderWindowsAgent({ ...OPTIONS, apiServer: undefined });
    // THEN
    expect(v6).toContain('$ApiHost = if ($env:HOSTNET_API_HOST) { $env:HOSTNET_API_HOST } else { \'fd00::1\' }');
    expect(v6).toContain('$ApiPort = if ($env:HOSTNET_API_PORT) { $env:HOSTNET_API_PORT } else { \'6443\' }');
    expect(v6).toContain('@{ Label = \'upstream\'; Server = \'2001:db8::53\' }');
    expect(env).toContain('else { $env:KUBERNETES_SERVICE_HOST }');
    expect(env).toContain('else { $env:KUBERNETES_SERVICE_PORT }');
    for (const script of [v6, env]) expect(parseProblems(await parsePowerShell(script))).toEqual([]);
  });

  test('property: names, resolvers and the DNS name full of PowerShell metacharacters stay single-quoted literals', async () => {
    // GIVEN the shape of run.ps1 with plain strings
    const shape = async (o: AgentOptions) => treeShape((await parsePowerShell(renderWindowsAgent(o))).rootNode);
    const baseline = await shape({ ...OPTIONS, apiServer: undefined });
    const meta = fc.stringOf(fc.constantFrom(...'\'"`$;(){}[]#<>|&@,.-=+%:!?*~^\\/ a\u2019'.split('')), { minLength: 1, maxLength: 80 });
    await fc.assert(fc.asyncProperty(meta, meta, meta, fc.string({ minLength: 1, maxLength: 40 }), async (label, server, dnsName, name) => {
      // WHEN
      const o = { ...OPTIONS, apiServer: undefined, name: name.replace(/[^\x20-\x7e]/g, 'x'), dnsChecks: [{ label, server }, OPTIONS.dnsChecks[1]], dnsName };
      const tree = await parsePowerShell(renderWindowsAgent(o));
      // THEN the structure is the same (only literals differ) and the values come back unchanged
      expect(parseProblems(tree)).toEqual([]);
      expect(treeShape(tree.rootNode)).toBe(baseline);
      const statements = topStatements(tree.rootNode);
      const value = (variable: string) => quotedValue([...allNodes(statements[indexOf(statements, new RegExp(`^\\$${variable}\\s*=`))])].find((n) => n.type === 'string_literal')!);
      expect(value('DnsName')).toBe(dnsName);
      expect(value('FirewallName')).toBe(o.name);
      const literals = [...allNodes(statements[indexOf(statements, /^\$DnsChecks\s*=/)])].filter((n) => n.type === 'string_literal').map(quotedValue);
      expect(literals.slice(0, 2)).toEqual([label, server]);
    }), { numRuns: 60 });
  });

  test('enforce and audit: drift every driftSeconds by -State, reported by name, repaired and counted; a full re-apply as a backstop', async () => {
    for (const mode of [FirewallMode.ENFORCE, FirewallMode.AUDIT]) {
      // GIVEN
      const root = (await parsePowerShell(synthWindows(mode).scripts.run)).rootNode;
      const statements = topStatements(root);
      // WHEN
      const loop = statements.find((s) => s.type === 'while_statement')!.text;
      // THEN the first apply is gated, and a failed one ends the pod
      expect(indexOf(statements, /^Invoke-GatedApply$/)).toBeLessThan(statements.findIndex((s) => s.type === 'while_statement'));
      expect(statements[indexOf(statements, /^if \(\$ApplyFailed\)/)].text).toContain('exit 1');
      // the state right after the apply is the reference
      // (and the enforced policy's table is what the firewall log is matched against)
      expect(statements[indexOf(statements, /^if \(\$Enforced\)/)].text).toBe('if ($Enforced) {\n  $applied = Get-PolicyState $Enforced\n  Import-LogTable $Enforced\n}');
      expect(loop).toContain('Start-Sleep -Seconds $DriftEvery');
      expect(loop).toContain('if ($retry -or $since -ge $ReapplyEvery) {');
      expect(loop).toContain('$now = Get-PolicyState $Enforced');
      expect(loop).toContain('if ($now -ceq $applied) { continue }');
      expect(loop.indexOf('Write-DriftReport $now $applied')).toBeLessThan(loop.indexOf('Invoke-TimedApply $Enforced $arguments'));
      expect(loop).toContain('$arguments = @(\'-Recreate\', ($recreate -join \',\'))');
      // the first apply's state stays the reference; a re-apply reads it back only when there was none
      expect(loop).toContain('$retry = $false\n    # the first apply');
      expect(loop).toContain('if ($null -eq $applied) { $applied = Get-PolicyState $Enforced }');
      expect(loop).toContain('$retry = $true\n    Write-Log "re-apply failed; retrying in $($DriftEvery)s"');
      const report = functionNamed(root, 'Write-DriftReport').text;
      expect(report).toContain('$script:DriftRepairs++');
      expect(report).toContain('Missing: $(Format-Names $missing). Changed: $(Format-Names $changed). Appeared: $(Format-Names $appeared).');
      // -State runs in this process (no powershell.exe every few seconds)
      expect(functionNamed(root, 'Get-PolicyState').text).toContain('$lines = @(& $Path -State)');
    }
  });

  test('remove: remove.ps1 until it succeeds (every 10 s), then the good policy is forgotten, Ready, idle', async () => {
    // GIVEN
    const root = (await parsePowerShell(synthWindows(FirewallMode.REMOVE).scripts.run)).rootNode;
    const statements = topStatements(root);
    // WHEN
    const afterCopy = statements.slice(indexOf(statements, /^foreach \(\$file in/) + 1).map((s) => s.text);
    // THEN
    expect(afterCopy).toEqual([
      'while ($true) {\n  Invoke-PolicyScript $PodRemove\n  if ($ExitCode -eq 0) { break }\n  Set-Unready \'remove.ps1 failed; retrying in 10s\'\n  Start-Sleep -Seconds 10\n}',
      'Remove-Item -LiteralPath $Good -Force -ErrorAction SilentlyContinue',
      'Set-Ready',
      'Write-Metrics',
      'Write-Log "NodeFirewall $FirewallName removed from this node; idle. Delete the objects once every node is Ready."',
      'while ($true) {\n  Start-Sleep -Seconds 3600\n  Update-PodDirectory\n}',
    ]);
  });
});

describe('the Windows container', () => {
  test('an exec readiness probe (powershell.exe) reading the files run.ps1 writes, and the pod uid from the downward API', async () => {
    // GIVEN
    const { container, scripts } = synthWindows(FirewallMode.ENFORCE);
    const probe = container.readinessProbe;
    // THEN
    expect(probe).toMatchObject({ periodSeconds: 10, failureThreshold: 1, timeoutSeconds: 10 });
    expect(probe.exec.command.slice(0, -1)).toEqual(['powershell.exe', '-NoLogo', '-NoProfile', '-NonInteractive', '-Command']);
    const script = probe.exec.command[probe.exec.command.length - 1];
    expect(script).toBe(renderWindowsReadiness());
    // the same directories as run.ps1, one place for both
    expect(script.startsWith(WINDOWS_AGENT_DIRS.join('; '))).toBe(true);
    expect(script).toContain(`if (Test-Path -LiteralPath (Join-Path $Pod '${WINDOWS_AGENT_FILES.ready}')) { exit 0 }`);
    expect(script).toContain(`$reason = Join-Path $Pod '${WINDOWS_AGENT_FILES.unready}'`);
    expect(script.endsWith('exit 1')).toBe(true);
    expect(scripts.run).toContain(`$Ready = Join-Path $Pod '${WINDOWS_AGENT_FILES.ready}'`);
    expect(scripts.run).toContain(`$Unready = Join-Path $Pod '${WINDOWS_AGENT_FILES.unready}'`);
    // one line without double quotes: nothing for the Windows command line to mangle
    expect(script).not.toMatch(/["\n]/);
    const tree = await parsePowerShell(script);
    expect(parseProblems(tree)).toEqual([]);
    const exits = [...allNodes(tree.rootNode)].filter((n) => n.type === 'flow_control_statement').map((n) => n.text);
    expect(exits).toEqual(['exit 0', 'exit 1']);
    expect(container.env).toEqual([{ name: WINDOWS_POD_UID_ENV, valueFrom: { fieldRef: { fieldPath: 'metadata.uid' } } }]);
  });
});

describe('apply.ps1 -State', () => {
  test.each([FirewallMode.ENFORCE, FirewallMode.AUDIT])('mode %s: the param block comes first, and -State prints and exits 0 before anything changes', async (mode) => {
    // GIVEN
    const apply = synthWindows(mode).scripts.apply;
    const root = (await parsePowerShell(apply)).rootNode;
    // WHEN
    const statements = topStatements(root);
    const state = indexOf(statements, /^if \(\$State\)/);
    const changes = statements.findIndex((s) => s.type !== 'function_statement'
      && /New-NetFirewallRule|Remove-NetFirewallRule|Set-NetFirewallRule|Enter-HostLock|Mutex/.test(s.text));
    // THEN
    expect(apply.startsWith(`${STATE_PARAMETERS}\n`)).toBe(true);
    expect(root.children[0]?.type).toBe('param_block');
    expect(state).toBeGreaterThan(-1);
    expect(changes).toBeGreaterThan(state);
    const branch = statements[state];
    expect(branch.text).toBe('if ($State) {\n  foreach ($line in @(Get-RuleState)) { Write-Output $line }\n  exit 0\n}');
    expect(topStatements(branch.descendantsOfType('statement_block')[0]!).pop()?.text).toBe('exit 0');
    // it reads, and changes nothing
    const getState = functionNamed(root, 'Get-RuleState');
    for (const cmdlet of ['New-NetFirewallRule', 'Remove-NetFirewallRule', 'Set-NetFirewallRule', 'Enter-HostLock']) expect(calls(getState, cmdlet)).toEqual([]);
    expect(calls(getState, 'Get-NetFirewallPortFilter')).toHaveLength(1);
    expect(calls(getState, 'Get-NetFirewallAddressFilter')).toHaveLength(1);
    expect(getState.text).toContain('$lines.Add("missing $($spec.Name)")');
    expect(getState.text).toContain('elseif (-not (Test-RuleIntact $rule $spec)) { $lines.Add("changed $($spec.Name)") }');
    expect(getState.text).toContain('[Array]::Sort($sorted, [StringComparer]::Ordinal)');
    // "as declared" includes Enabled = $Enabled, which audit sets to False before -State runs
    expect(functionNamed(root, 'Test-RuleIntact').text).toContain('("$($Rule.Enabled)" -eq $Enabled)');
    const enabled = indexOf(statements, /^\$Enabled\s*=/);
    expect(enabled).toBeLessThan(state);
    expect(statements[enabled].text).toBe(mode === FirewallMode.AUDIT ? '$Enabled = \'False\'' : '$Enabled = \'True\'');
  });

  test('the apply uses the same intact test, and re-creates the rules -Recreate names', async () => {
    const root = (await parsePowerShell(synthWindows(FirewallMode.ENFORCE).scripts.apply)).rootNode;
    const main = topStatements(root).find((s) => s.type === 'try_statement' && s.text.includes('Enter-HostLock'))!.text;
    expect(main).toContain('$recreateNames = @($Recreate -split \',\' | Where-Object { $_ })');
    expect(main).toContain('if ((Test-RuleIntact $old $spec) -and $recreateNames -notcontains $spec.Name) { $unchanged++; continue }');
  });
});
