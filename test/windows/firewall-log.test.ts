// Drops per rule on Windows, from the firewall log. Nothing here runs PowerShell: the matcher is data
// (the table apply.ps1 carries) plus a few lines of PowerShell, transcribed in firewall-log-reference.ts.
// The tests prove the table and that reference against hand-written pfirewall.log fixtures (Microsoft's
// documented field order, drops of several rules, allowed lines in audit mode, IPv6, a move to .old and
// a truncation) with counts written by hand; the expected hostnet.prom passes promtool; the Windows
// evaluator (test/windows/firewall-evaluator.ts), reading the Block rules from apply.ps1, agrees on
// which logged packets our rules block; and the PowerShell names exactly the exported metrics.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { Node } from 'web-tree-sitter';
import { windowsAgentOptions } from './agent-options';
import { Flow, readRules, ruleMatches } from './firewall-evaluator';
import { DropCounter, LogFile, LogFollower, findRule, parseTable, toPacket } from './firewall-log-reference';
import { PATH, windowsPolicy } from './fixtures';
import { allNodes, parsePowerShell, parseProblems, verbatimValue } from './powershell-parser';
import { formatDropLog } from '../../src/dialects/drop-log-format';
import { renderWindowsAgent } from '../../src/dialects/windows-agent';
import { renderWindowsFirewall } from '../../src/dialects/windows-firewall';
import { formatLogTable, logMatchTable } from '../../src/dialects/windows-firewall-log';
import { planWindowsRules } from '../../src/dialects/windows-rules';
import { EXPORTED_METRICS } from '../../src/observability/dashboard';
import { compilePolicy } from '../../src/policy/compile-policy';
import { FirewallMode } from '../../src/policy/firewall-mode';
import { FirewallPolicy } from '../../src/policy/firewall-policy';
import { NodeOs } from '../../src/policy/node-os';
import { PortRange } from '../../src/policy/port-range';
import { Protocol, RuleAction, TrafficScope } from '../../src/policy/protocol';

const FIXTURES = join(__dirname, 'firewall-log-fixtures');
const fixture = (name: string) => readFileSync(join(FIXTURES, name));

/** UDP denied but DNS to the cluster resolver (both families) and syslog to a /16, except to one /24 in it; telnet denied. */
function policy() {
  return compilePolicy(PATH, FirewallPolicy.denyUdp()
    .addRule('cluster-dns', { action: RuleAction.ALLOW, protocol: Protocol.UDP, scopes: [TrafficScope.NODE_EGRESS], destinations: ['10.96.0.10', 'fd00:10:96::a'], destinationPorts: [PortRange.of(53)], description: 'cluster DNS' })
    .addRule('syslog-out', { action: RuleAction.ALLOW, protocol: Protocol.UDP, scopes: [TrafficScope.NODE_EGRESS], destinations: ['198.51.0.0/16'], destinationPorts: [PortRange.of(514)], description: 'syslog' })
    .addRule('no-syslog-out', { action: RuleAction.DENY, protocol: Protocol.UDP, scopes: [TrafficScope.NODE_EGRESS], destinations: ['198.51.100.0/24'], destinationPorts: [PortRange.of(514)], description: 'no syslog to the old collector' })
    .addRule('no-telnet', { action: RuleAction.DENY, protocol: Protocol.TCP, scopes: [TrafficScope.NODE_INGRESS, TrafficScope.NODE_EGRESS], destinationPorts: [PortRange.of(23)], description: 'no telnet' }),
  [], NodeOs.WINDOWS);
}

/** The here-string apply.ps1 assigns to $LogTableText, read from its syntax tree. */
async function tableText(apply: string): Promise<string> {
  const tree = await parsePowerShell(apply);
  expect(parseProblems(tree)).toEqual([]);
  const assignment = [...allNodes(tree.rootNode)].find((n) => n.type === 'assignment_expression' && n.firstChild?.text.trim() === '$LogTableText');
  if (!assignment) throw new Error('apply.ps1 assigns no $LogTableText');
  const value = assignment.text.replace(/^\$LogTableText\s*=\s*/, '');
  expect(value).toMatch(/^@'\n[\s\S]*\n'@$/);
  return value.slice(3, -3);
}

/** hostnet.prom as Write-Metrics writes it (the transcription of its PowerShell), with fixed figures. */
function prom(counter: DropCounter, mode: string): string {
  const help = readFileSync(join(FIXTURES, 'enforce.prom'), 'utf8').split('\n').filter((l) => l.startsWith('# '));
  const headerOf = (name: string) => help.filter((l) => l.split(' ')[2] === name);
  const series = (name: string, values: Map<string, number>) => [...headerOf(name), ...[...values.keys()].sort().map((key) => `${name}{${key}} ${values.get(key)}`)];
  return [
    ...series('hostnet_rule_packets_total', counter.packets),
    ...series('hostnet_rule_bytes_total', counter.bytes),
    ...headerOf('hostnet_policy_info'),
    `hostnet_policy_info{policy_sha256="${'0123456789abcdef'.repeat(4)}",mode="${mode}",backend="windows-firewall",version="0.0.0"} 1`,
    ...headerOf('hostnet_apply_success'), 'hostnet_apply_success 1',
    ...headerOf('hostnet_last_apply_timestamp_seconds'), 'hostnet_last_apply_timestamp_seconds 1764496800',
    ...headerOf('hostnet_apply_duration_seconds'), 'hostnet_apply_duration_seconds 1.25',
    ...headerOf('hostnet_drift_repairs_total'), 'hostnet_drift_repairs_total 0',
    ...headerOf('hostnet_reverts_total'), 'hostnet_reverts_total 0',
  ].join('\n') + '\n';
}

const LOG = 'C:\\Windows\\system32\\LogFiles\\Firewall\\pfirewall.log';

describe('the log matcher\'s table (apply.ps1 -LogTable)', () => {
  test('apply.ps1 carries the table of its own Block rules, deny rules before the default denies', async () => {
    // GIVEN
    const compiled = policy();
    const scripts = renderWindowsFirewall(compiled, 'hostnet');
    // WHEN
    const text = await tableText(scripts.apply);
    const table = parseTable(text);
    // THEN it is the plan's table, one line per Block rule of the script
    expect(text).toBe(formatLogTable(logMatchTable(planWindowsRules(compiled, 'hostnet'))));
    expect(table).toHaveLength((await readRules(scripts.apply)).length);
    const firstDefault = table.findIndex((r) => r.rule.startsWith('default-deny-'));
    // (inbound deny rules, then outbound ones: a packet has one direction, so only the order within one counts)
    expect(table.slice(0, firstDefault).map((r) => r.rule)).toEqual(['no-telnet', 'no-syslog-out', 'no-telnet']);
    expect(table.slice(firstDefault).every((r) => r.rule === 'default-deny-udp')).toBe(true);
    // hand-checked lines: telnet in (any address, local port 23), syslog out (a /24 in hex, remote port 514)
    expect(text.split('\n')).toContain('no-telnet Inbound TCP ipv4,ipv6 * * * 23-23');
    expect(text.split('\n')).toContain('no-syslog-out Outbound UDP ipv4 c6336400-c63364ff * 514-514 *');
  });

  test('-LogTable prints the table and exits before anything changes; the same table in audit mode', async () => {
    const enforce = renderWindowsFirewall(policy(), 'hostnet', FirewallMode.ENFORCE).apply;
    const audit = renderWindowsFirewall(policy(), 'hostnet', FirewallMode.AUDIT).apply;
    expect(await tableText(audit)).toBe(await tableText(enforce));
    expect(enforce.split('\n')[0]).toBe('param([switch]$State, [string]$Recreate = \'\', [switch]$LogTable)');
    const block = enforce.slice(enforce.indexOf('if ($LogTable) {'));
    expect(block.indexOf('exit 0')).toBeLessThan(block.indexOf('Enter-HostLock'));
  });
});

describe('counting a hand-written pfirewall.log (the reference of run.ps1\'s reader)', () => {
  test('enforce: drops of several rules, IPv6, a partial last line, a move to .old and a truncation', async () => {
    // GIVEN the table of the enforce script and the log before the agent starts
    const table = parseTable(await tableText(renderWindowsFirewall(policy(), 'hostnet').apply));
    const files = new Map<string, LogFile>([[LOG, { data: fixture('0-before.txt'), stamp: 't0' }]]);
    const follower = new LogFollower(LOG, files);
    const counter = new DropCounter(table, false);
    // WHEN three whole lines and half a fourth arrive
    files.set(LOG, { data: Buffer.concat([fixture('0-before.txt'), fixture('1-appended.txt')]), stamp: 't1' });
    const round1 = follower.round(files);
    counter.count(round1);
    // ... the fourth line ends, two more follow, and Windows moves the log to .old and starts a new one
    files.set(`${LOG}.old`, { data: Buffer.concat([fixture('0-before.txt'), fixture('1-appended.txt'), fixture('2-before-rotation.txt')]), stamp: 't2' });
    files.set(LOG, { data: fixture('2-after-rotation.txt'), stamp: 't2' });
    const round2 = follower.round(files);
    counter.count(round2);
    // ... and someone truncates the log, which Windows writes on into
    expect(fixture('3-truncated.txt').length).toBeLessThan(fixture('2-after-rotation.txt').length);
    files.set(LOG, { data: fixture('3-truncated.txt'), stamp: 't3' });
    const round3 = follower.round(files);
    counter.count(round3);
    // THEN each round read exactly the new whole lines (the line before the start is history)
    expect(round1.map((l) => l.slice(11, 19))).toEqual(['10:00:01', '10:00:02', '10:00:03']);
    expect(round2.filter((l) => !l.startsWith('#')).map((l) => l.slice(11, 19))).toEqual(['10:00:04', '10:00:05', '10:00:06', '10:00:07', '10:00:08', '10:00:09']);
    expect(round3.filter((l) => !l.startsWith('#')).map((l) => l.slice(11, 19))).toEqual(['10:00:10', '10:00:11']);
    // ... and the counts are those worked out by hand: the syslog drop counts for its deny rule; the
    // exempted DNS drop (10:00:07), the TCP 445 drop (inbound default) and the ICMP drop are not ours
    const packets = Object.fromEntries([...counter.packets].filter(([, n]) => n > 0));
    expect(packets).toEqual({
      'rule="default-deny-udp",action="drop",direction="egress",family="ipv4"': 2,
      'rule="default-deny-udp",action="drop",direction="egress",family="ipv6"': 1,
      'rule="default-deny-udp",action="drop",direction="ingress",family="ipv6"': 1,
      'rule="no-syslog-out",action="drop",direction="egress",family="ipv4"': 1,
      'rule="no-telnet",action="drop",direction="egress",family="ipv6"': 1,
      'rule="no-telnet",action="drop",direction="ingress",family="ipv4"': 1,
    });
    expect(counter.bytes.get('rule="default-deny-udp",action="drop",direction="egress",family="ipv4"')).toBe(120);
    expect(counter.dropLog).toEqual([
      'hostnet drop rule=default-deny-udp action=drop proto=udp src=192.0.2.10:50000 dst=8.8.8.8:53 dir=egress',
      'hostnet drop rule=no-syslog-out action=drop proto=udp src=192.0.2.10:50001 dst=198.51.100.7:514 dir=egress',
      'hostnet drop rule=no-telnet action=drop proto=tcp src=203.0.113.5:40000 dst=192.0.2.10:23 dir=ingress',
      'hostnet drop rule=default-deny-udp action=drop proto=udp src=[2001:db8::5]:5353 dst=[2001:db8::10]:9999 dir=ingress',
      'hostnet drop rule=default-deny-udp action=drop proto=udp src=[2001:db8::10]:50004 dst=[2001:db8:1::99]:123 dir=egress',
      'hostnet drop rule=no-telnet action=drop proto=tcp src=[2001:db8::10]:50005 dst=[2001:db8:2::23]:23 dir=egress',
      'hostnet drop rule=default-deny-udp action=drop proto=udp src=192.0.2.10:50006 dst=8.8.4.4:53 dir=egress',
    ]);
    // ... and hostnet.prom is the hand-written fixture, which promtool accepts
    expect(prom(counter, 'enforce')).toBe(fixture('enforce.prom').toString('utf8'));
    expect(execFileSync('sh', ['-c', `promtool check metrics < ${join(FIXTURES, 'enforce.prom')} 2>&1`], { encoding: 'utf8' })).toBe('');
  });

  test('audit: allowed connections that a disabled rule would have dropped count as would_drop (bytes: the log says 0)', async () => {
    // GIVEN the audit script's table and a log that starts empty
    const table = parseTable(await tableText(renderWindowsFirewall(policy(), 'hostnet', FirewallMode.AUDIT).apply));
    const files = new Map<string, LogFile>();
    const follower = new LogFollower(LOG, files);
    const counter = new DropCounter(table, true);
    // WHEN
    files.set(LOG, { data: fixture('audit.txt'), stamp: 't1' });
    counter.count(follower.round(files));
    // THEN DNS to the resolver (both families) and HTTPS are not ours; the DROP line is not an audit count
    expect(Object.fromEntries([...counter.packets].filter(([, n]) => n > 0))).toEqual({
      'rule="default-deny-udp",action="would_drop",direction="egress",family="ipv4"': 1,
      'rule="default-deny-udp",action="would_drop",direction="egress",family="ipv6"': 1,
      'rule="no-syslog-out",action="would_drop",direction="egress",family="ipv4"': 1,
      'rule="no-telnet",action="would_drop",direction="ingress",family="ipv4"': 1,
    });
    expect(counter.dropLog[0]).toBe('hostnet drop rule=default-deny-udp action=would_drop proto=udp src=192.0.2.10:50000 dst=8.8.8.8:53 dir=egress');
    expect(prom(counter, 'audit')).toBe(fixture('audit.prom').toString('utf8'));
    expect(execFileSync('sh', ['-c', `promtool check metrics < ${join(FIXTURES, 'audit.prom')} 2>&1`], { encoding: 'utf8' })).toBe('');
  });

  test('the Windows evaluator, reading the Block rules from apply.ps1, blocks exactly the logged packets the table counts', async () => {
    // GIVEN every UDP/TCP line of the fixtures, as a flow
    const apply = renderWindowsFirewall(policy(), 'hostnet').apply;
    const rules = (await readRules(apply)).filter((r) => r.action === 'Block');
    const table = parseTable(await tableText(apply));
    const lines = ['1-appended.txt', '2-before-rotation.txt', '2-after-rotation.txt', '3-truncated.txt', 'audit.txt']
      .flatMap((f) => fixture(f).toString('ascii').split('\n')).filter((l) => / (UDP|TCP) /.test(l) && l.split(' ').length >= 17);
    let blocked = 0;
    for (const line of lines) {
      const packet = toPacket(line.split(' '))!;
      const flow: Flow = {
        direction: packet.direction,
        protocol: packet.protocol as 'UDP' | 'TCP',
        remoteAddress: packet.direction === 'Inbound' ? packet.source : packet.destination,
        localAddress: packet.direction === 'Inbound' ? packet.destination : packet.source,
        remotePort: packet.remotePort,
        localPort: packet.localPort,
      };
      // WHEN
      const matching = rules.filter((r) => ruleMatches(r, flow));
      const counted = findRule(table, packet);
      // THEN the table counts a packet exactly when a Block rule of the script matches it, and for
      // the policy rule of one of those Block rules (their names carry it)
      expect({ line, ours: counted !== undefined }).toEqual({ line, ours: matching.length > 0 });
      if (counted) {
        blocked++;
        const key = counted.rule === 'default-deny-udp' ? '-udp-' : `-deny-${counted.rule}-`;
        expect(matching.some((r) => r.name.includes(key))).toBe(true);
      }
    }
    expect(blocked).toBe(11);
  });
});

describe('the table against the Block rules it comes from (property)', () => {
  test.each([['the test policy', policy()], ['k2s', windowsPolicy()]])('%s: for random packets, the table matches exactly when a Block rule of apply.ps1 does', async (_, compiled) => {
    // GIVEN the Block rules as the evaluator reads them from the script, and the script's table
    const apply = renderWindowsFirewall(compiled, 'hostnet').apply;
    const rules = (await readRules(apply)).filter((r) => r.action === 'Block');
    const table = parseTable(await tableText(apply));
    // addresses near the rules' edges are where a hex range or a family would go wrong
    const v4 = fc.oneof(fc.ipV4(), fc.constantFrom('10.96.0.10', '10.96.0.9', '10.96.0.11', '172.19.1.1', '172.19.1.100', '172.21.0.10', '198.51.100.0', '198.51.99.255', '198.51.101.0', '255.255.255.255', '0.0.0.0'));
    const v6 = fc.oneof(fc.ipV6(), fc.constantFrom('fd00:10:96::a', 'fd00:10:96::b', 'fe80::1', 'febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'ff02::1:2', 'ff02::1:3', '::', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'));
    const pair = fc.oneof(fc.tuple(v4, v4), fc.tuple(v6, v6));
    const port = fc.oneof(fc.integer({ min: 1, max: 65535 }), fc.constantFrom(22, 23, 52, 53, 54, 67, 68, 514, 546, 547, 4789, 6443));
    await fc.assert(fc.asyncProperty(pair, port, port, fc.constantFrom('SEND', 'RECEIVE'), fc.constantFrom('UDP', 'TCP'), async ([src, dst], sport, dport, path, protocol) => {
      // WHEN the same packet is logged as dropped
      const packet = toPacket(`2026-11-30 10:00:00 DROP ${protocol} ${src} ${dst} ${sport} ${dport} 60 - - - - - - - ${path} 4`.split(' '))!;
      const flow: Flow = {
        direction: packet.direction,
        protocol: protocol as 'UDP' | 'TCP',
        remoteAddress: path === 'RECEIVE' ? src : dst,
        localAddress: path === 'RECEIVE' ? dst : src,
        remotePort: path === 'RECEIVE' ? sport : dport,
        localPort: path === 'RECEIVE' ? dport : sport,
      };
      // THEN
      expect(findRule(table, packet) !== undefined).toBe(rules.some((r) => ruleMatches(r, flow)));
    }), { numRuns: 400 });
  });
});

describe('run.ps1\'s firewall log reader and metrics (tree-sitter)', () => {

  function functionNamed(root: Node, name: string): Node {
    const found = [...allNodes(root)].find((n) => n.type === 'function_statement'
      && n.children.find((c) => c?.type === 'function_name')?.text.toLowerCase() === name.toLowerCase());
    if (!found) throw new Error(`no function ${name}`);
    return found;
  }
  const literals = (node: Node) => [...allNodes(node)].filter((n) => n.type === 'string_literal' && n.text.startsWith('\'')).map(verbatimValue);

  test.each([FirewallMode.ENFORCE, FirewallMode.AUDIT])('%s: the metric names are exactly the exported ones, the labels those of Linux', async (mode) => {
    // GIVEN
    const root = (await parsePowerShell(renderWindowsAgent(windowsAgentOptions('hostnet', mode)))).rootNode;
    expect(parseProblems(root.tree)).toEqual([]);
    // WHEN the names in Write-Metrics' literals are collected
    const written = literals(functionNamed(root, 'Write-Metrics'));
    const names = new Set(written.flatMap((t) => /^(?:# (?:HELP|TYPE) )?(hostnet_[a-z_]+)/.exec(t)?.[1] ?? []));
    // THEN
    expect([...names].sort()).toEqual([...EXPORTED_METRICS].sort());
    expect(literals(functionNamed(root, 'Format-RuleKey'))).toEqual(['rule="{0}",action="{1}",direction="{2}",family="{3}"']);
    expect(written.join('\n')).toContain(`",mode="${mode}",backend="windows-firewall",version="0.0.0"} 1`);
    expect(written).toContain('hostnet_policy_info{policy_sha256="');
    // the counted action and its label, per mode
    const assigned = (name: string) => [...allNodes(root)].find((n) => n.type === 'assignment_expression' && n.firstChild?.text.trim() === name)!.text;
    expect(assigned('$CountedAction')).toBe(`$CountedAction = '${mode === FirewallMode.AUDIT ? 'ALLOW' : 'DROP'}'`);
    expect(assigned('$DropAction')).toBe(`$DropAction = '${mode === FirewallMode.AUDIT ? 'would_drop' : 'drop'}'`);
  });

  test('the drop log line is the shared format; the log fields are read at Microsoft\'s positions', async () => {
    const root = (await parsePowerShell(renderWindowsAgent(windowsAgentOptions()))).rootNode;
    const format = literals(functionNamed(root, 'Write-DropLog')).find((t) => t.startsWith('hostnet drop '))!;
    const filled = format.replace(/\{(\d)\}/g, (_, i) => ['r1', 'drop', 'udp', '192.0.2.1:5', '[2001:db8::1]:53', 'egress'][Number(i)]);
    expect(filled).toBe(formatDropLog({ rule: 'r1', action: 'drop', protocol: 'udp', source: '192.0.2.1', sourcePort: 5, destination: '2001:db8::1', destinationPort: 53, direction: 'egress' }));
    // date(0) time(1) action(2) protocol(3) src-ip(4) dst-ip(5) src-port(6) dst-port(7) size(8) ... path(16)
    const packet = functionNamed(root, 'ConvertTo-LoggedPacket').text;
    expect(packet).toContain('if ($f[16] -eq \'RECEIVE\') { $direction = \'Inbound\'; $remote = $f[4]; $local = $f[5]; $remotePort = $f[6]; $localPort = $f[7] }');
    expect(packet).toContain('elseif ($f[16] -eq \'SEND\') { $direction = \'Outbound\'; $remote = $f[5]; $local = $f[4]; $remotePort = $f[7]; $localPort = $f[6] }');
    expect(packet).toContain('Size = (& $port $f[8])');
    expect(functionNamed(root, 'Update-DropCounts').text).toContain('if ($f.Count -lt 17 -or $f[2] -cne $CountedAction) { continue }');
  });

  test('apply.ps1 turns the log on (LogAllowed only in audit) after saving the settings; remove.ps1 restores them', async () => {
    const enforce = renderWindowsFirewall(policy(), 'hostnet', FirewallMode.ENFORCE);
    const audit = renderWindowsFirewall(policy(), 'hostnet', FirewallMode.AUDIT);
    for (const script of [enforce.apply, enforce.remove, audit.apply]) expect(parseProblems(await parsePowerShell(script))).toEqual([]);
    const enable = (apply: string) => {
      const root = (async () => (await parsePowerShell(apply)).rootNode)();
      return root.then((r) => functionNamed(r, 'Enable-FirewallLog').text);
    };
    const e = await enable(enforce.apply);
    const a = await enable(audit.apply);
    // saved once (only when no saved settings exist), before the first Set-NetFirewallProfile
    expect(e.indexOf('if (-not (Test-Path -LiteralPath $FirewallLogSaved -PathType Leaf)) {')).toBeLessThan(e.indexOf('Set-NetFirewallProfile'));
    expect(e).toContain('-LogBlocked True -LogAllowed $allowed -LogFileName $FirewallLogFile -LogMaxSizeKilobytes $size');
    expect(a).toContain('$allowed = \'True\'');
    expect(e).toContain('$allowed = if ($saved.ContainsKey($fwProfile[0])) { $saved[$fwProfile[0]][2] } else { $fwProfile[2] }');
    // called after the rules are in place; a failure is a warning, not a failed apply
    expect(enforce.apply).toContain('try { Enable-FirewallLog } catch { Write-Warning');
    expect(enforce.apply.indexOf('try { Enable-FirewallLog }')).toBeGreaterThan(enforce.apply.indexOf('New-NetFirewallRule @spec'));
    // remove.ps1: restores after removing every rule, then forgets the saved settings
    expect(enforce.remove.indexOf('  Restore-FirewallLog\n')).toBeGreaterThan(enforce.remove.indexOf('$left = @(Get-OurRules)'));
    const restore = functionNamed((await parsePowerShell(enforce.remove)).rootNode, 'Restore-FirewallLog').text;
    expect(restore).toContain('Set-NetFirewallProfile @settings');
    expect(restore.indexOf('Set-NetFirewallProfile @settings')).toBeLessThan(restore.indexOf('Remove-Item -LiteralPath $FirewallLogSaved -Force'));
  });
});
