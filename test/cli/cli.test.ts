// The cdk8s-hostnet command on dist/ folders synthesized in the test: output, errors, exit codes.
// Expected verdicts are written from the spec (what the default k2s policy opens), not computed.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import * as ts from 'typescript';
import { runCli } from '../../src/cli/run-cli';
import { E2E_OVERRIDES } from '../util/synth';
import { writeDist } from '../util/write-dist';

const tmp = mkdtempSync(join(tmpdir(), 'hostnet-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// GIVEN the default k2s dist (cluster DNS 172.21.0.10, upstream 172.19.1.1, pods 172.20.0.0/16)
const BEFORE = writeDist(join(tmp, 'before'), 'k2s');
// AND a change: NTP to 192.0.2.123 from the nodes, no SMB from pods, the upstream moved
const AFTER = writeDist(join(tmp, 'after'), 'k2s', {
  upstreamResolvers: ['192.0.2.53'],
  exemptions: [
    { id: 'ntp', protocol: 'udp', scopes: ['nodeEgress'], destinations: ['192.0.2.123'], destinationPorts: ['123'], description: 'NTP' },
    { id: 'no-smb-out', action: 'deny', protocol: 'tcp', scopes: ['podForward'], destinationPorts: ['445'], description: 'no SMB from pods' },
  ],
});

function cli(...argv: string[]): { code: number; out: string; err: string } {
  let out = '';
  let err = '';
  const code = runCli(argv, { out: (t) => { out += t; }, err: (t) => { err += t; } });
  return { code, out, err };
}

const explain = (...flags: string[]) => cli('explain', BEFORE, ...flags);

describe('explain', () => {
  test('pod DNS to the cluster DNS Service IP: allowed before DNAT, exit 0', () => {
    const r = explain('--node-os', 'linux', '--scope', 'podForward', '--proto', 'udp', '--src', '172.20.0.5', '--dst', '172.21.0.10', '--dport', '53');
    expect(r).toEqual({
      code: 0,
      err: '',
      out: 'ALLOW (rule dns-cluster-service)\n  failsafe allow rule dns-cluster-service: DNS to the cluster DNS Service IP, matched before kube-proxy DNAT; '
        + 'the destination was matched as the client addressed it, before kube-proxy\'s DNAT\n',
    });
  });

  test('pod DNS to an undeclared address: denied by default, still exit 0', () => {
    const r = explain('--node-os', 'linux', '--scope', 'podForward', '--proto', 'udp', '--src', '172.20.0.5', '--dst=8.8.8.8', '--dport=53');
    expect(r.code).toBe(0);
    expect(r.out).toBe('DENY (default)\n  no rule allows it: udp is denied by default (default-deny-udp)\n');
  });

  test('Windows: podForward is not rendered; DNS elsewhere falls in the Block rules of the default deny', () => {
    const fwd = explain('--node-os', 'windows', '--scope', 'podForward', '--proto', 'udp', '--src', '172.20.1.5', '--dst', '8.8.8.8', '--dport', '53');
    expect(fwd.out).toMatch(/^ALLOW\n {2}Windows: podForward is not rendered/);
    const out = explain('--node-os', 'windows', '--scope', 'nodeEgress', '--proto', 'udp', '--src', '172.19.1.101', '--dst', '8.8.8.8', '--dport', '53');
    expect(out.out).toMatch(/^DENY \(default\)\n {2}no exemption matches: udp is denied by default \(Block rules/);
  });

  test('--json: the verdict, the rule and the reason, per firewall', () => {
    const r = explain('--node-os', 'linux', '--scope', 'nodeEgress', '--proto', 'tcp', '--src', '172.19.1.100', '--dst', '203.0.113.9', '--dport', '443', '--json');
    const json = JSON.parse(r.out);
    expect(json).toMatchObject({ verdict: 'ALLOW', isDefault: false, firewalls: [{ firewall: 'hostnet', nodeOs: 'linux', verdict: 'ALLOW' }] });
    expect(json.reason).toMatch(/tcp is allowed by default/);
  });

  test('IPv6 flows', () => {
    const r = explain('--node-os', 'linux', '--scope', 'nodeIngress', '--proto', 'udp', '--src', 'fe80::1', '--dst', 'fe80::2', '--dport', '546');
    expect(r.out).toMatch(/^ALLOW \(rule dhcpv6-client-in\)/);
  });

  test.each([
    [['--node-os', 'mac'], '--node-os "mac" must be one of linux, windows'],
    [['--scope', 'input'], '--scope "input" must be one of nodeIngress, nodeEgress, podForward'],
    [['--proto', 'sctp'], '--proto "sctp" must be one of udp, tcp, icmp'],
    [['--src', '10.0.0.0/8'], '--src "10.0.0.0/8" is not an IP address'],
    [['--dst', 'dns.example'], '--dst "dns.example" is not an IP address'],
    [['--dport', '65536'], '--dport "65536" must be a port from 1 to 65535'],
    [['--verbose'], 'explain: unknown flag --verbose'],
    [['--colour=yes'], 'explain: unknown flag --colour (value "yes")'],
  ])('bad input %j: one line naming the flag and value, the usage, exit 2', (change, message) => {
    const flags: Record<string, string> = { '--node-os': 'linux', '--scope': 'podForward', '--proto': 'udp', '--src': '172.20.0.5', '--dst': '172.21.0.10', '--dport': '53' };
    if (change.length === 2) flags[change[0]] = change[1];
    const args = [...Object.entries(flags).flat(), ...(change.length === 1 ? change : [])];
    const r = explain(...args);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err.split('\n')[0]).toBe(`cdk8s-hostnet: ${message}`);
    expect(r.err.split('\n')[1]).toMatch(/^usage: cdk8s-hostnet explain DIST --node-os/);
  });

  test('a missing port that decides: say which flag to give', () => {
    const r = explain('--node-os', 'linux', '--scope', 'nodeEgress', '--proto', 'udp', '--src', '172.19.1.100', '--dst', '8.8.8.8');
    expect(r.code).toBe(2);
    expect(r.err).toBe('cdk8s-hostnet: the verdict depends on the destination port: give --dport (rule dhcp-client-out matches 67)\n');
  });

  test('a missing flag, a bad DIST, a folder without policies, a broken YAML file', () => {
    expect(explain('--node-os', 'linux').err.split('\n')[0]).toBe('cdk8s-hostnet: explain: --scope is required');
    const icmp = ['--node-os', 'linux', '--scope', 'podForward', '--proto', 'icmp', '--src', '1.1.1.1', '--dst', '2.2.2.2'];
    const missing = cli('explain', join(tmp, 'nope'), ...icmp);
    expect(missing).toMatchObject({ code: 2, err: `cdk8s-hostnet: DIST "${join(tmp, 'nope')}" does not exist: give the folder cdk8s synth wrote (dist/)\n` });
    const other = join(tmp, 'other');
    writeDist(other, 'k2s');
    writeFileSync(join(other, 'hostnet.k8s.yaml'), 'apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n');
    const none = cli('explain', other, ...icmp);
    expect(none.code).toBe(2);
    expect(none.err).toMatch(/holds no NodeFirewall policy \(policy.json in a <name>-<os>-policy ConfigMap\)/);
    writeFileSync(join(other, 'hostnet.k8s.yaml'), 'kind: [\n');
    expect(cli('explain', other, ...icmp).err).toMatch(/^cdk8s-hostnet: .*hostnet\.k8s\.yaml: line \d+: /);
  });

  test('several firewalls: each verdict and the combined one; --firewall picks one', () => {
    // GIVEN a dist with a second firewall, strict, whose policy has no NTP exemption
    const two = join(tmp, 'two');
    writeDist(two, 'k2s', { ...E2E_OVERRIDES, exemptions: [{ id: 'ntp', protocol: 'udp', scopes: ['nodeEgress'], destinationPorts: ['123'], description: 'NTP' }] });
    writeDist(join(tmp, 'second'), 'k2s', { ...E2E_OVERRIDES, name: 'strict', createNamespace: false });
    writeFileSync(join(two, 'strict.k8s.yaml'), readFileSync(join(tmp, 'second', 'hostnet.k8s.yaml')));
    const flow = ['--node-os', 'linux', '--scope', 'nodeEgress', '--proto', 'udp', '--src', '198.18.0.1', '--dst', '192.0.2.1', '--dport', '123'];
    // WHEN
    const both = cli('explain', two, ...flow);
    // THEN hostnet allows it (ntp), strict denies it by default, and so the packet is dropped
    expect(both.out).toBe([
      'firewall hostnet: ALLOW (rule ntp)', '  user allow rule ntp: NTP',
      'firewall strict: DENY (default)', '  no rule allows it: udp is denied by default (default-deny-udp)',
      'combined: DENY (a packet passes only if every firewall that selects the node allows it)', '',
    ].join('\n'));
    expect(cli('explain', two, ...flow, '--firewall', 'hostnet').out).toBe('ALLOW (rule ntp)\n  user allow rule ntp: NTP\n');
    expect(cli('explain', two, ...flow, '--firewall', 'other').err).toBe('cdk8s-hostnet: no firewall "other" for linux nodes in DIST; its firewalls are: hostnet, strict\n');
  });
});

describe('diff', () => {
  test('exactly the traffic that changes verdict, per OS and scope; exit 0 without --exit-code', () => {
    const r = cli('diff', BEFORE, AFTER);
    expect(r.code).toBe(0);
    expect(r.out).toBe([
      'firewall hostnet, linux nodeEgress udp ipv4:',
      '  ALLOW -> DENY  src any except 127.0.0.0/8  dst 172.19.1.1  sport any  dport 53',
      '  DENY -> ALLOW  src any except 127.0.0.0/8  dst 192.0.2.53  sport any  dport 53',
      '  DENY -> ALLOW  src any except 127.0.0.0/8  dst 192.0.2.123  sport any  dport 123',
      'firewall hostnet, linux podForward udp ipv4:',
      '  ALLOW -> DENY  src any  dst 172.19.1.1  sport any  dport 53',
      '  DENY -> ALLOW  src any  dst 192.0.2.53  sport any  dport 53',
      'firewall hostnet, linux podForward tcp ipv4:',
      '  ALLOW -> DENY  src any  dst any  sport any  dport 445',
      'firewall hostnet, linux podForward tcp ipv6:',
      '  ALLOW -> DENY  src any  dst any  sport any  dport 445',
      'firewall hostnet, windows nodeEgress udp ipv4:',
      '  ALLOW -> DENY  src any except 127.0.0.0/8  dst 172.19.1.1  sport any  dport 53',
      '  DENY -> ALLOW  src any except 127.0.0.0/8  dst 192.0.2.53  sport any  dport 53',
      '  DENY -> ALLOW  src any except 127.0.0.0/8  dst 192.0.2.123  sport any  dport 123',
      '10 regions changed verdict', '',
    ].join('\n'));
  });

  test('--exit-code: 1 when something changed, 0 when nothing did; --json', () => {
    expect(cli('diff', BEFORE, AFTER, '--exit-code').code).toBe(1);
    expect(cli('diff', BEFORE, BEFORE, '--exit-code')).toEqual({ code: 0, out: 'no verdict changes\n', err: '' });
    const json = JSON.parse(cli('diff', BEFORE, AFTER, '--json').out);
    expect(json.changed).toBe(true);
    expect(json.regions[0]).toEqual({
      firewall: 'hostnet',
      nodeOs: 'linux',
      scope: 'nodeEgress',
      protocol: 'udp',
      family: 'ipv4',
      sources: ['any-except', '127.0.0.0/8'],
      destinations: ['172.19.1.1'],
      sourcePorts: ['any'],
      destinationPorts: ['53'],
      before: 'ALLOW',
      after: 'DENY',
    });
  });

  test('usage errors: exit 2', () => {
    expect(cli('diff', BEFORE)).toMatchObject({ code: 2, err: expect.stringMatching(/^cdk8s-hostnet: diff: expected OLD_DIST and NEW_DIST, got ".*before"\nusage: /) });
    expect(cli('diff', BEFORE, AFTER, '--exit-code=1').err.split('\n')[0]).toBe('cdk8s-hostnet: diff: flag --exit-code takes no value, got "1"');
  });
});

describe('test', () => {
  const flows = (name: string, text: string) => {
    const file = join(tmp, name);
    writeFileSync(file, text);
    return file;
  };

  test('a table, N passed, N failed; exit 1 on a failure', () => {
    const file = flows('flows.yaml', `flows:
  - { name: pod DNS via the Service IP, nodeOs: linux, scope: podForward, protocol: udp, source: 172.20.0.5, destination: 172.21.0.10, destinationPort: 53, expect: ALLOW }
  - { name: no DNS to the internet, nodeOs: linux, scope: podForward, protocol: udp, source: 172.20.0.5, destination: 8.8.8.8, destinationPort: 53, expect: deny }
  - { name: wrong on purpose, nodeOs: windows, scope: nodeEgress, protocol: udp, source: 172.19.1.101, destination: 8.8.8.8, destinationPort: 53, expect: ALLOW }
`);
    const r = cli('test', BEFORE, file);
    expect(r.code).toBe(1);
    const lines = r.out.split('\n');
    expect(lines[0]).toMatch(/^PASS {2}linux {4}podForward {2}udp {2}172\.20\.0\.5 -> 172\.21\.0\.10:53 +ALLOW +pod DNS via the Service IP$/);
    expect(lines[1]).toMatch(/^PASS .* DENY +no DNS to the internet$/);
    expect(lines[2]).toMatch(/^FAIL {2}windows .* DENY \(expected ALLOW\) +wrong on purpose$/);
    expect(lines[3]).toBe('      hostnet: DENY (default): no exemption matches: udp is denied by default (Block rules over everything the exemptions leave out)');
    expect(lines[4]).toBe('2 passed, 1 failed');
  });

  test('all passing: exit 0; --json', () => {
    const file = flows('ok.yaml', 'flows:\n  - { nodeOs: linux, scope: nodeEgress, protocol: tcp, source: 172.19.1.100, destination: 1.1.1.1, destinationPort: 443, expect: ALLOW }\n');
    expect(cli('test', BEFORE, file)).toMatchObject({ code: 0, out: expect.stringMatching(/\n1 passed, 0 failed\n$/) });
    expect(JSON.parse(cli('test', BEFORE, file, '--json').out)).toMatchObject({ passed: 1, failed: 0, results: [{ name: 'flow 1', passed: true, verdict: 'ALLOW' }] });
  });

  test.each([
    ['flows: []\n', 'must be one YAML document with a non-empty list "flows"'],
    ['flows:\n  - { nodeOs: linux, scope: podForward, protocol: udp, source: 1.2.3.4, destination: 5.6.7.8, destinationPort: 53, expect: maybe }\n',
      'flows[0].expect "MAYBE" must be one of ALLOW, DENY'],
    ['flows:\n  - { nodeOs: linux, scope: podForward, protocol: udp, source: 1.2.3.4, destination: 5.6.7.8, dport: 53, expect: allow }\n',
      'flows[0].dport is not a field of a flow'],
    ['flows:\n  - { nodeOs: linux, scope: podForward, protocol: udp, source: 1.2.3.4, destination: 5.6.7.8, destinationPort: 99999, expect: allow }\n',
      'flows[0].destinationPort "99999" must be a port from 1 to 65535'],
    ['flows:\n  - { nodeOs: linux, scope: podForward, protocol: udp, source: 1.2.3.4, expect: allow }\n', 'flows[0].destination is required'],
    ['flows:\n  - { nodeOs: linux, scope: podForward, protocol: udp, source: 1.2.3.4, destination: 172.21.0.10, expect: allow }\n',
      'flows[0] (flow 1): the verdict depends on the destination port: give destinationPort'],
  ])('a bad FLOWS.yaml %#: one line naming the file, the flow and the field; exit 2', (text, message) => {
    const file = flows('bad.yaml', text);
    const r = cli('test', BEFORE, file);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`cdk8s-hostnet: ${file}: ${message}`);
  });
});

describe('the command', () => {
  test('--help shows the commands and an example; no command is a usage error; an unknown one is named', () => {
    expect(cli('--help')).toMatchObject({ code: 0, out: expect.stringContaining('npx cdk8s-hostnet explain dist --node-os linux') });
    expect(cli()).toMatchObject({ code: 2, err: expect.stringContaining('cdk8s-hostnet explain DIST') });
    expect(cli('simulate')).toEqual({ code: 2, out: '', err: 'cdk8s-hostnet: unknown command "simulate"; commands: explain, diff, test (--help shows how)\n' });
    expect(cli('diff', '--help')).toEqual({ code: 0, out: 'usage: cdk8s-hostnet diff OLD_DIST NEW_DIST [--json] [--exit-code]\n', err: '' });
  });
});

describe('the README section "Ask before you apply"', () => {
  const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Ask before you apply');
  const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
  const blocks = (language: string) => [...section.matchAll(new RegExp('```' + language + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]);
  // the pull request of the README's diff: two rules added to CLUSTER_CONFIG
  const PR = writeDist(join(tmp, 'readme-pr'), 'k2s', {
    exemptions: [
      { id: 'ntp', protocol: 'udp', scopes: ['nodeEgress'], destinations: ['192.0.2.123'], destinationPorts: ['123'], description: 'NTP' },
      { id: 'no-smb-out', action: 'deny', protocol: 'tcp', scopes: ['podForward'], destinationPorts: ['445'], description: 'no SMB from pods' },
    ],
  });

  test('every console block is the real output of its commands (dist: the default k2s synth)', () => {
    const flowsFile = join(tmp, 'flows.yaml');
    writeFileSync(flowsFile, blocks('yaml').find((b) => b.includes('flows:'))!);
    const paths: Record<string, string> = { 'dist': BEFORE, 'dist-main': BEFORE, 'flows.yaml': flowsFile };
    let commands = 0;
    for (const block of blocks('console')) {
      const parts = block.split(/^\$ /m).filter((p) => p.trim() !== '');
      let last = { code: 0, out: '', err: '' };
      for (const part of parts) {
        const [command, ...output] = part.split('\n');
        const expected = output.join('\n');
        if (command === 'echo $?') {
          expect(`${last.code}\n`).toBe(expected);
          continue;
        }
        const [npx, bin, sub, ...argv] = command.split(' ');
        expect([npx, bin]).toEqual(['npx', 'cdk8s-hostnet']);
        const args = argv.map((a) => paths[a] ?? a);
        // the diff compares main's dist with the pull request's
        if (argv[0] === 'dist-main') args[1] = PR;
        last = cli(sub, ...args);
        expect(last.out + last.err).toBe(expected);
        commands++;
      }
    }
    expect(commands).toBe(7);
  });

  test('the jest example passes', () => {
    const [code] = blocks('ts');
    const js = ts.transpileModule(code.replace(/from 'cdk8s-hostnet'/g, "from '../../src'"), {
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
    }).outputText;
    let ran = 0;
    const inline = (_name: string, fn: () => void) => {
      fn();
      ran++;
    };
    new Function('require', 'exports', 'test', 'expect', js)(require, {}, inline, expect);
    expect(ran).toBe(1);
  });
});
