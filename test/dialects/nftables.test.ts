import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { renderNftables } from '../../src/dialects/nftables';
import { compilePolicy } from '../../src/policy/compile-policy';
import { CompiledPolicy } from '../../src/policy/compiled-policy';
import { DnsResolver, dnsRules } from '../../src/policy/dns-resolver';
import { nodeFailsafes } from '../../src/policy/failsafes';
import { FirewallPolicy } from '../../src/policy/firewall-policy';
import { NodeOs } from '../../src/policy/node-os';
import { PortRange } from '../../src/policy/port-range';
import { Protocol, RuleAction, TrafficScope } from '../../src/policy/protocol';
import { K2S_PROFILE } from '../../src/profiles/k2s';
import { infrastructureRules, profileResolvers } from '../../src/profiles/profile-rules';
import { NetnsAgent, deleteNamespace, nsExec, nsExecOk, run } from '../e2e/netns';
import { shellcheck } from '../util/shellcheck';

// ---------------------------------------------------------------------------------------------
// Inputs

/** What NodeFirewall compiles for the Linux nodes of the K2s profile with the default policy. */
function k2sPolicy(): CompiledPolicy {
  const failsafes = [...nodeFailsafes(), ...infrastructureRules(K2S_PROFILE, NodeOs.LINUX), ...dnsRules(profileResolvers(K2S_PROFILE))];
  return compilePolicy('test', FirewallPolicy.denyUdp(), failsafes);
}

const MANY_CIDRS = Array.from({ length: 20 }, (_, i) => `198.18.${100 + i}.0/24`);
const MANY_PORTS = Array.from({ length: 20 }, (_, i) => PortRange.range(10000 + i * 100, 10000 + i * 100 + 49));

/** Every feature at once: sets, IPv6, pre-DNAT and untracked matches, deny rules, ICMP. */
function richPolicy(description = 'Telemetry collectors'): CompiledPolicy {
  const policy = FirewallPolicy.denyUdp()
    .addRule('many', {
      action: RuleAction.ALLOW,
      protocol: Protocol.UDP,
      scopes: [TrafficScope.NODE_EGRESS, TrafficScope.POD_FORWARD],
      destinations: MANY_CIDRS,
      destinationPorts: MANY_PORTS,
      description,
    })
    .addRule('no-spoofed-sport', {
      action: RuleAction.DENY,
      protocol: Protocol.UDP,
      scopes: [TrafficScope.NODE_EGRESS],
      destinations: ['198.18.105.0/24'],
      sourcePorts: [PortRange.range(1000, 1999), PortRange.of(3000)],
      destinationPorts: [PortRange.range(10000, 10049)],
      description: 'No collector traffic from low source ports',
    })
    .addRule('no-icmp-in', {
      action: RuleAction.DENY,
      protocol: Protocol.ICMP,
      scopes: [TrafficScope.NODE_INGRESS],
      description: 'No ICMP to the node',
    });
  const resolvers = [
    DnsResolver.clusterService('198.18.64.10', 'fd00:64::10'),
    DnsResolver.corednsPods('198.19.0.0/16'),
    DnsResolver.upstream('198.18.0.53', '198.18.0.54'),
    DnsResolver.nodeLocalCache(),
  ];
  return compilePolicy('test', policy, [...nodeFailsafes(), ...dnsRules(resolvers)]);
}

/** UDP and TCP both denied by default, with a deny-everything rule from one network. */
function strictPolicy(): CompiledPolicy {
  const policy = new FirewallPolicy({ udp: RuleAction.DENY, tcp: RuleAction.DENY })
    .addRule('quarantine', {
      action: RuleAction.DENY,
      protocol: Protocol.ANY,
      scopes: [TrafficScope.NODE_INGRESS],
      sources: ['198.18.9.0/24'],
      overrideFailsafe: true,
      description: 'Nothing at all from the quarantine network',
    });
  return compilePolicy('test', policy, [...nodeFailsafes(), ...dnsRules([DnsResolver.upstream('198.18.0.53')])]);
}

/** The nft file inside apply.sh's heredoc. */
function nftFile(script: string): string {
  const match = /<<'NFT'\n([\s\S]*?)\nNFT\n/.exec(script);
  if (!match) throw new Error(`no NFT heredoc in:\n${script}`);
  return match[1] + '\n';
}

/** The lines of one chain, without indentation. */
function chainLines(script: string, chain: string): string[] {
  const match = new RegExp(`\\n  chain ${chain} \\{\\n([\\s\\S]*?)\\n  \\}`).exec(nftFile(script));
  if (!match) throw new Error(`no chain ${chain}`);
  return match[1].split('\n').map((l) => l.trim());
}

/** The drop log's rate-limited line before each drop (its prefix is checked in test/e2e/drop-log.e2e.test.ts). */
const isDropLog = (line: string) => / log prefix "hn:[0-9a-f]{6}:[dw]:\d+ " level info$/.test(line);
const rules = (lines: string[]) => lines.filter((l) => !l.startsWith('#') && !l.startsWith('type ') && !isDropLog(l));

// ---------------------------------------------------------------------------------------------
// Pure rendering

describe('renderNftables', () => {
  test('default K2s policy: three base chains in one inet table, udp denied except failsafes', () => {
    // GIVEN
    const policy = k2sPolicy();

    // WHEN
    const { apply } = renderNftables(policy, 'hostnet');

    // THEN
    const file = nftFile(apply);
    expect(file.startsWith('table inet hostnet {}\ndelete table inet hostnet\ntable inet hostnet {\n')).toBe(true);
    expect(file).not.toContain('set ');
    expect(rules(chainLines(apply, 'input'))).toEqual([
      'iif "lo" accept comment "loopback"',
      'meta l4proto != udp accept comment "not-governed"',
      'ct state established,related accept comment "replies"',
      'meta nfproto ipv4 udp dport 68 counter accept comment "dhcp-client-in"',
      'ip6 saddr fe80::/10 udp dport 546 counter accept comment "dhcpv6-client-in"',
      'meta nfproto ipv4 meta l4proto udp counter drop comment "default-deny-udp"',
      'meta nfproto ipv6 meta l4proto udp counter drop comment "default-deny-udp"',
    ]);
    expect(rules(chainLines(apply, 'output'))).toEqual([
      'oif "lo" accept comment "loopback"',
      'meta l4proto != udp accept comment "not-governed"',
      'ct state established,related accept comment "replies"',
      'meta nfproto ipv4 udp dport 67 counter accept comment "dhcp-client-out"',
      'ip6 daddr ff02::1:2 udp dport 547 counter accept comment "dhcpv6-client-out"',
      'ct original ip daddr 172.21.0.10 udp dport 53 counter accept comment "dns-cluster-service"',
      'ip daddr 172.20.0.0/16 udp dport 53 counter accept comment "dns-coredns-pods"',
      'ip daddr 172.19.1.1 udp dport 53 counter accept comment "dns-upstream"',
      'meta nfproto ipv4 meta l4proto udp counter drop comment "default-deny-udp"',
      'meta nfproto ipv6 meta l4proto udp counter drop comment "default-deny-udp"',
    ]);
    // forward never exempts loopback (routed packets never come from lo)
    expect(rules(chainLines(apply, 'forward'))[0]).toBe('meta l4proto != udp accept comment "not-governed"');
    for (const chain of ['input', 'output', 'forward']) {
      expect(chainLines(apply, chain)[0]).toBe(`type filter hook ${chain} priority filter + 10; policy accept;`);
    }
  });

  test('every rule line carries its id as comment, under a "# id (origin action): description" line', () => {
    const { apply } = renderNftables(richPolicy(), 'hostnet');
    for (const chain of ['input', 'output', 'forward']) {
      const lines = chainLines(apply, chain);
      lines.forEach((line, i) => {
        const header = /^# ([a-z0-9-]+) \((failsafe|user) (allow|deny)\): /.exec(line);
        if (!header) return;
        // a deny's first line is its drop log line, with the same match
        const next = header[3] === 'deny' && isDropLog(lines[i + 1]) ? lines[i + 2] : lines[i + 1];
        expect(next).toMatch(new RegExp(` ${header[3] === 'deny' ? 'counter drop' : 'accept'} comment "${header[1]}"$`));
      });
      expect(rules(lines).every((l) => / comment "[a-z0-9-]+"$/.test(l))).toBe(true);
    }
  });

  test('lists of more than one CIDR or port range become interval sets, defined once, used by every scope', () => {
    const { apply } = renderNftables(richPolicy(), 'hostnet');
    const file = nftFile(apply);

    expect(file).toContain('  set daddr4-many {\n    type ipv4_addr\n    flags interval\n    elements = {\n      198.18.100.0/24,\n');
    expect(file).toContain('  set dport-many {\n    type inet_service\n    flags interval\n    elements = {\n      10000-10049,\n');
    expect(file.match(/^ {2}set daddr4-many \{/gm)).toHaveLength(1);
    expect(/set daddr4-many \{[^}]*\}/.exec(file)![0].match(/\/24/g)).toHaveLength(20);
    expect(/set dport-many \{[^}]*\}/.exec(file)![0].match(/\d+-\d+/g)).toHaveLength(20);
    const manyRule = 'ip daddr @daddr4-many udp dport @dport-many counter accept comment "many"';
    expect(rules(chainLines(apply, 'output'))).toContain(manyRule);
    expect(rules(chainLines(apply, 'forward'))).toContain(manyRule);
    // two upstreams: a set; one CoreDNS CIDR: inline
    expect(file).toContain('ip daddr @daddr4-dns-upstream udp dport 53 counter accept comment "dns-upstream"');
    expect(file).toContain('ip daddr 198.19.0.0/16 udp dport 53 counter accept comment "dns-coredns-pods"');
    // source ports: a set as well
    expect(file).toContain('ip daddr 198.18.105.0/24 udp sport @sport-no-spoofed-sport udp dport 10000-10049 counter drop comment "no-spoofed-sport"');
  });

  test('pre-DNAT, untracked, ICMP and per-family matches', () => {
    const { apply } = renderNftables(richPolicy(), 'hostnet');
    const output = rules(chainLines(apply, 'output'));
    const input = rules(chainLines(apply, 'input'));

    expect(output).toContain('ct original ip daddr 198.18.64.10 udp dport 53 counter accept comment "dns-cluster-service"');
    expect(output).toContain('ct original ip6 daddr fd00:64::10 udp dport 53 counter accept comment "dns-cluster-service"');
    expect(output).toContain('ip saddr 169.254.20.10 udp sport 53 ct state untracked counter accept comment "dns-node-local-replies"');
    expect(input).toContain('ip daddr 169.254.20.10 udp dport 53 counter accept comment "dns-node-local-cache"');
    expect(input).toContain('meta nfproto ipv4 meta l4proto icmp counter drop comment "no-icmp-in"');
    expect(input).toContain('meta nfproto ipv6 meta l4proto ipv6-icmp counter drop comment "no-icmp-in"');
    // ICMP is governed now: both ICMP flavours stay in the chain, everything else leaves at once
    expect(input).toContain('meta l4proto != { icmp, ipv6-icmp, udp } accept comment "not-governed"');
  });

  test('deny rules come before allow rules, and the default deny comes last', () => {
    const { apply } = renderNftables(richPolicy(), 'hostnet');
    const output = rules(chainLines(apply, 'output'));
    const lastDrop = output.map((l) => l.includes('comment "no-spoofed-sport"')).lastIndexOf(true);
    const firstPolicyAccept = output.findIndex((l, i) => i > 2 && l.includes(' accept '));
    expect(lastDrop).toBeGreaterThan(2);
    expect(lastDrop).toBeLessThan(firstPolicyAccept);
    // one default deny per family, so each counter has one family
    expect(output.slice(-2)).toEqual(['meta nfproto ipv4 meta l4proto udp counter drop comment "default-deny-udp"',
      'meta nfproto ipv6 meta l4proto udp counter drop comment "default-deny-udp"']);
  });

  test('tcp denied by default and a deny of every protocol: no not-governed shortcut, two defaults', () => {
    const { apply } = renderNftables(strictPolicy(), 'hostnet');
    const input = rules(chainLines(apply, 'input'));

    expect(input.some((l) => l.includes('not-governed'))).toBe(false);
    expect(input).toContain('ip saddr 198.18.9.0/24 counter drop comment "quarantine"');
    expect(input.slice(-2)).toEqual([
      'meta nfproto ipv4 meta l4proto tcp counter drop comment "default-deny-tcp"',
      'meta nfproto ipv6 meta l4proto tcp counter drop comment "default-deny-tcp"',
    ]);
    expect(input).toContain('meta nfproto ipv4 meta l4proto udp counter drop comment "default-deny-udp"');
    expect(rules(chainLines(apply, 'output'))).toContain('ip daddr 198.18.0.53 tcp dport 53 counter accept comment "dns-upstream-tcp"');
  });

  test('descriptions with quotes, $, \\, ; and # stay inside their comment line', () => {
    const nasty = 'Say "hi" \'there\' $HOME `id` \\ ; } # NFT \\';
    const { apply } = renderNftables(richPolicy(nasty), 'hostnet');

    expect(apply).toContain(`    # many (user allow): ${nasty}\n    ip daddr @daddr4-many`);
    expect(apply.match(/^NFT$/gm)).toHaveLength(1);
  });

  test('remove.sh deletes only our table and tolerates its absence', () => {
    const { remove } = renderNftables(k2sPolicy(), 'hostnet');
    expect(nftFile(remove)).toBe('table inet hostnet {}\ndelete table inet hostnet\n');
    expect(remove).toContain("NodeFirewall 'hostnet'");
  });

  test('rendering is deterministic', () => {
    expect(renderNftables(richPolicy(), 'hostnet')).toEqual(renderNftables(richPolicy(), 'hostnet'));
  });

  test.each([
    ['k2s', k2sPolicy],
    ['rich', () => richPolicy('a "quoted" $x \\ ; # description')],
    ['strict', strictPolicy],
  ])('%s: apply.sh and remove.sh are shellcheck-clean POSIX sh', (_name, policy) => {
    const { apply, remove } = renderNftables(policy(), 'hostnet');
    expect(shellcheck(apply, 'apply.sh')).toEqual([]);
    expect(shellcheck(remove, 'remove.sh')).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// Real kernel (root, nft, ip, dash)

function skipReason(): string | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    return 'nft tests need root (nft -c talks to the kernel; the smoke test creates network namespaces); not uid 0';
  }
  const missing = ['ip', 'nft', 'dash'].filter((tool) => {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
      return false;
    } catch {
      return true;
    }
  });
  return missing.length > 0 ? `nft tests need these commands, missing: ${missing.join(', ')}` : undefined;
}

/** Runs, fails on CI (which must never go green by skipping), or skips loudly. */
function describeKernel(name: string, fn: () => void): void {
  const reason = skipReason();
  if (reason === undefined) {
    describe(name, fn);
  } else if (process.env.CI === 'true') {
    describe(name, () => test('prerequisites are met (CI must not skip)', () => {
      throw new Error(reason);
    }));
  } else {
    console.warn(`\n!!!!! SKIPPING "${name}" !!!!!\n!!!!! ${reason}\n`);
    describe.skip(name, fn);
  }
}

describeKernel('nftables on a real kernel', () => {
  const ns = `hnft-${process.pid}`;
  const nsA = `hnfa-${process.pid}`;
  const nsB = `hnfb-${process.pid}`;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hnft-'));
  const agents: NetnsAgent[] = [];

  /** Runs a generated script with dash inside a namespace, as the node agent would. */
  async function runScript(where: string, script: string, file: string) {
    const scriptPath = path.join(tmp, file);
    fs.writeFileSync(scriptPath, script);
    return nsExec(where, `dash ${scriptPath}`);
  }

  const listOurs = (where: string) => nsExec(where, 'nft list table inet hostnet');

  beforeAll(async () => {
    for (const name of [ns, nsA, nsB]) await deleteNamespace(name);
    await run('ip', ['netns', 'add', ns]);
  });

  afterAll(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    for (const name of [ns, nsA, nsB]) await deleteNamespace(name);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test.each([
    ['k2s', k2sPolicy],
    ['rich', () => richPolicy('a "quoted" $x \\ ; # } description')],
    ['strict', strictPolicy],
  ])('%s: nft -c accepts the rendered file', async (_name, policy) => {
    const result = await nsExec(ns, 'nft -c -f -', { input: nftFile(renderNftables(policy(), 'hostnet').apply) });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  test('apply twice gives the same ruleset, remove deletes only our table, a foreign table survives', async () => {
    // GIVEN another component's table
    await nsExecOk(ns, 'nft -f -', {
      input: 'table ip other {\n  chain input {\n    type filter hook input priority 0; policy accept;\n'
        + '    udp dport 9999 drop comment "foreign"\n  }\n}\n',
    });
    const foreign = (await nsExecOk(ns, 'nft list table ip other')).stdout;
    const { apply, remove } = renderNftables(richPolicy(), 'hostnet');

    // WHEN applied twice
    expect((await runScript(ns, apply, 'apply.sh')).code).toBe(0);
    const first = (await listOurs(ns)).stdout;
    const second = await runScript(ns, apply, 'apply.sh');

    // THEN
    expect(second).toMatchObject({ code: 0, stdout: 'hostnet: applied NodeFirewall hostnet (nftables)\n' });
    expect((await listOurs(ns)).stdout).toBe(first);
    // (the kernel lists each counter's values)
    expect(first).toMatch(/ct original ip6 daddr fd00:64::10 udp dport 53 counter packets \d+ bytes \d+ accept comment "dns-cluster-service"/);
    expect(first).toMatch(/ip daddr @daddr4-many udp dport @dport-many counter packets \d+ bytes \d+ accept comment "many"/);
    expect(first.match(/chain /g)).toHaveLength(3);
    expect((await nsExecOk(ns, 'nft list table ip other')).stdout).toBe(foreign);

    // WHEN a broken apply runs: nothing changes (one transaction)
    const broken = apply.replace('ct state established,related accept', 'ct state bogus accept');
    expect((await runScript(ns, broken, 'broken.sh')).code).not.toBe(0);
    expect((await listOurs(ns)).stdout).toBe(first);

    // WHEN removed, twice
    expect((await runScript(ns, remove, 'remove.sh')).code).toBe(0);
    expect((await runScript(ns, remove, 'remove.sh'))).toMatchObject({ code: 0, stdout: 'hostnet: removed NodeFirewall hostnet (nftables)\n' });

    // THEN only our table is gone
    expect((await listOurs(ns)).code).not.toBe(0);
    expect((await nsExecOk(ns, 'nft list tables')).stdout).toBe('table ip other\n');
    expect((await nsExecOk(ns, 'nft list table ip other')).stdout).toBe(foreign);
  });

  test('packets: udp dropped in output except DNS through the Service IP (before DNAT); tcp passes', async () => {
    // GIVEN A 198.18.200.1/30 <-veth-> B 198.18.200.2/30, echo responders on B, and in A a
    // kube-proxy look-alike (its own table) that DNATs the DNS Service IP 198.18.64.10 to B
    await nsExecOk(undefined, [
      'set -e',
      `ip netns add ${nsA}`,
      `ip netns add ${nsB}`,
      `ip -n ${nsA} link add eth0 type veth peer name eth0 netns ${nsB}`,
      `ip -n ${nsA} addr add 198.18.200.1/30 dev eth0`,
      `ip -n ${nsB} addr add 198.18.200.2/30 dev eth0`,
      ...[nsA, nsB].flatMap((n) => [`ip -n ${n} link set lo up`, `ip -n ${n} link set eth0 up`]),
      // a route for the Service range, as a node's default route would be
      `ip -n ${nsA} route add 198.18.64.0/18 dev eth0`,
    ].join('\n'));
    await nsExecOk(nsA, 'nft -f -', {
      input: 'table ip kubeproxy {\n  chain output {\n    type nat hook output priority -100; policy accept;\n'
        + '    ip daddr 198.18.64.10 udp dport 53 dnat to 198.18.200.2:53\n  }\n}\n',
    });
    const server = await NetnsAgent.start(nsB, ['server', 'udp:198.18.200.2:5000', 'tcp:198.18.200.2:5000', 'udp:198.18.200.2:53']);
    agents.push(server);
    const client = await NetnsAgent.start(nsA, ['client']);
    agents.push(client);
    const probe = async (proto: 'udp' | 'tcp', to: string, port: number) =>
      (await client.request({ proto, to, port, timeoutMs: 400 })).ok === true;
    const probeAll = async () => [
      await probe('udp', '198.18.200.2', 5000),
      await probe('udp', '198.18.200.2', 53),
      await probe('udp', '198.18.64.10', 53),
      await probe('tcp', '198.18.200.2', 5000),
    ];
    expect(await probeAll()).toEqual([true, true, true, true]);

    // WHEN A applies the default deny-UDP policy with the cluster DNS Service IP declared
    const failsafes = [...nodeFailsafes(), ...dnsRules([DnsResolver.clusterService('198.18.64.10')])];
    const { apply, remove } = renderNftables(compilePolicy('test', FirewallPolicy.denyUdp(), failsafes), 'hostnet');
    expect((await runScript(nsA, apply, 'apply-a.sh')).code).toBe(0);

    // THEN only DNS addressed to the Service IP passes (matched on the pre-DNAT destination)
    expect(await probeAll()).toEqual([false, false, true, true]);
    // the drops happened in our output chain's default deny
    const output = (await nsExecOk(nsA, 'nft list chain inet hostnet output')).stdout;
    expect(output).toMatch(/meta l4proto udp counter packets 2 bytes \d+ drop comment "default-deny-udp"/);

    // WHEN removed: UDP flows again, the look-alike's table is untouched
    expect((await runScript(nsA, remove, 'remove-a.sh')).code).toBe(0);
    expect(await probeAll()).toEqual([true, true, true, true]);
    expect((await nsExecOk(nsA, 'nft list tables')).stdout).toBe('table ip kubeproxy\n');
  });
});
