import { mkdirSync, mkdtempSync, readFileSync, truncateSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Testing } from 'cdk8s';
import { buildApp } from '../../src/app/build-app';
import { loadClusterConfig, parseClusterConfig } from '../../src/app/cluster-config';
import { RuleAction, TrafficScope } from '../../src/policy/protocol';
import { ClusterProfiles } from '../../src/profiles/cluster-profiles';
import { linuxScripts, synthProfile } from '../util/synth';

const RULE = { id: 'x', protocol: 'udp', scopes: ['nodeEgress'], description: 'd' };
const KNOWN_RULE_FIELDS = 'id, action, protocol, scopes, sources, destinations, sourcePorts, destinationPorts, nodeOs, description, overrideFailsafe';
const A_RULE = 'a mapping with id, protocol, scopes and description';
const CIDR = 'must be a CIDR or an address, like "10.0.0.0/16" or "192.0.2.53"';
const CIDRS = 'must be a list of CIDRs, like ["10.0.0.0/16"]';
const PORTS = 'must be a list of ports, like [53] or ["1000-2000"]';
const PORT = 'must be a port or a range, like 53 or "1000-2000"';
const SECONDS = 'must be a whole number of seconds from 10 to 86400';
const SCOPE = 'must be one of nodeIngress, nodeEgress, podForward';
const RULE_ID = 'must be 1-48 lowercase letters, digits or dashes, starting and ending with a letter or digit';
const ONE_LINE = 'must be one line of 1-200 printable ASCII characters';
const TAGS = 'is not supported; write plain text, numbers, true/false, lists and mappings';
const README = 'the README lists the fields (Overriding a profile: CLUSTER_CONFIG)';

/** The IPv4 address 10.0.0.0 + n, written out. */
function tenDot(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor((10 * 2 ** 24 + n) / 2 ** shift) % 256).join('.');
}

function newDir(): string {
  return mkdtempSync(join(tmpdir(), 'hostnet-config-'));
}

function configFile(content: string | Buffer): string {
  const file = join(newDir(), 'cluster.yaml');
  writeFileSync(file, content);
  return file;
}

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('nothing was thrown');
}

/** The exact message, one line of at most 300 characters. */
function expectRefusal(fn: () => unknown, expected: string): void {
  expect(fn).toThrow(expected);
  const message = messageOf(fn);
  expect(message).toBe(expected);
  expect(message.length).toBeLessThanOrEqual(300);
  expect(message).not.toMatch(/[\n\r\u2028\u2029]/);
}

describe('cluster config (CLUSTER_CONFIG)', () => {
  test('overrides profile values and adds exemptions, infrastructure and resolvers', () => {
    // GIVEN
    const file = configFile([
      'podCidrs: [10.32.0.0/16]',
      'upstreamResolvers: [192.0.2.53]',
      'customResolvers: [192.0.2.54]',
      'infrastructure:',
      '  - { id: metallb-memberlist, protocol: udp, ports: [7946], scopes: [nodeIngress, nodeEgress], description: MetalLB memberlist }',
      'exemptions:',
      '  - { id: syslog, protocol: udp, scopes: [nodeEgress], destinations: [192.0.2.10], destinationPorts: ["514", 1000-2000], description: syslog }',
      '  - { id: wsus, protocol: udp, scopes: [nodeEgress], destinationPorts: ["8530"], nodeOs: [windows], description: Windows-only }',
    ].join('\n'));
    // WHEN
    const config = loadClusterConfig(file, ClusterProfiles.k0sCalico());
    // THEN
    expect(config.profile.podCidrs).toEqual(['10.32.0.0/16']);
    expect(config.profile.serviceCidrs).toEqual(['10.96.0.0/12']);
    expect(config.profile.infrastructure.map((i) => i.id)).toEqual(['calico-vxlan', 'metallb-memberlist']);
    expect(config.customResolvers).toEqual(['192.0.2.54']);
    expect(config.exemptions[0].props).toMatchObject({ action: RuleAction.ALLOW, scopes: [TrafficScope.NODE_EGRESS] });
    expect(config.exemptions[0].props.destinationPorts!.map(String)).toEqual(['514', '1000-2000']);
    expect(config.exemptions[1].props.nodeOs).toEqual(['windows']);
  });

  test('deny exemptions, overrideFailsafe, createNamespace and allowAnyAddress', () => {
    // GIVEN
    const doc = {
      exemptions: [{ ...RULE, id: 'no-dns-upstream', action: 'deny', overrideFailsafe: true, destinations: ['172.19.1.1'], destinationPorts: [53] }],
      createNamespace: false,
      allowAnyAddress: true,
    };
    // WHEN
    const config = parseClusterConfig('cluster.yaml', doc, ClusterProfiles.k2s());
    // THEN
    expect(config.exemptions[0].props).toMatchObject({ action: RuleAction.DENY, overrideFailsafe: true, destinations: ['172.19.1.1'] });
    expect(config.createNamespace).toBe(false);
    expect(config.allowAnyAddress).toBe(true);
    expect(linuxScripts(synthProfile('k2s', { exemptions: doc.exemptions })).apply).toContain('no-dns-upstream');
  });

  test('mode, rollout pace, drift interval, check image, API server and cluster domain', () => {
    // GIVEN
    const doc = {
      mode: 'audit',
      driftCheckIntervalSeconds: 5,
      maxUnavailable: 2,
      minReadySeconds: 0,
      checkImage: 'registry.example/busybox:1.36.1',
      apiServer: '[fd00::1]:6443',
      clusterDomain: 'k2s.internal',
    };
    // WHEN
    const config = parseClusterConfig('cluster.yaml', doc, ClusterProfiles.k2s());
    // THEN
    expect(config).toMatchObject({ mode: 'audit', driftCheckIntervalSeconds: 5, maxUnavailable: 2, minReadySeconds: 0, checkImage: 'registry.example/busybox:1.36.1' });
    expect(config.profile).toMatchObject({ apiServer: '[fd00::1]:6443', clusterDomain: 'k2s.internal' });
    const run = linuxScripts(synthProfile('k2s', doc)).run;
    expect(run).toContain('api_host="${HOSTNET_API_HOST:-fd00::1}"');
    expect(run).toContain('drift_every="${HOSTNET_DRIFT_SECONDS:-5}"');
  });

  test('nodeSelector reaches each agent\'s DaemonSet beside the OS label', () => {
    // GIVEN
    const doc = { name: 'edge', nodeSelector: { 'node-pool': 'edge', 'example.com/zone': 'dmz' } };
    // WHEN
    const config = parseClusterConfig('cluster.yaml', doc, ClusterProfiles.k2s());
    const objects = synthProfile('k2s', doc);
    // THEN
    expect(config.nodeSelector).toEqual({ 'node-pool': 'edge', 'example.com/zone': 'dmz' });
    expect(objects.find((o) => o.kind === 'DaemonSet' && o.metadata.name === 'edge-windows').spec.template.spec.nodeSelector)
      .toEqual({ 'node-pool': 'edge', 'example.com/zone': 'dmz', 'kubernetes.io/os': 'windows' });
  });

  test.each([
    ['an empty file', ''],
    ['comments only', '# nothing to override yet\n'],
    ['a lone document marker', '---\n'],
    ['a trailing document marker', 'podCidrs: [172.20.0.0/16]\n---\n'],
    ['a UTF-8 byte order mark', '\ufeffpodCidrs: [172.20.0.0/16]\n'],
    ['an anchor reused by an alias', 'upstreamResolvers: &dns [172.19.1.1]\nexemptions: [{ id: x, protocol: udp, scopes: [nodeEgress], description: d, destinations: *dns }]\n'],
  ])('%s overrides nothing that is not in it', (_, content) => {
    // WHEN
    const config = loadClusterConfig(configFile(content), ClusterProfiles.k2s());
    // THEN
    expect(config.profile).toEqual(ClusterProfiles.k2s());
  });

  const circular: unknown[] = [];
  circular.push(circular);
  const longList = Array.from({ length: 8000 }, (_, i) => `${tenDot(i * 256)}/24`).join(', ');

  test.each<[string, unknown, string]>([
    // the document and unknown fields
    ['a list document', ['a'], 'document ["a"] must be a mapping of override fields, like podCidrs: [10.32.0.0/16]'],
    ['a text document', 'podCidrs', 'document "podCidrs" must be a mapping of override fields, like podCidrs: [10.32.0.0/16]'],
    ['a near miss', { podCidr: ['10.0.0.0/8'] }, 'podCidr ["10.0.0.0/8"] is not a known field; did you mean \'podCidrs\'?'],
    ['another case', { podcidrs: ['10.0.0.0/8'] }, 'podcidrs ["10.0.0.0/8"] is not a known field; did you mean \'podCidrs\'?'],
    ['a prefix', { reapplyInterval: 60 }, 'reapplyInterval 60 is not a known field; did you mean \'reapplyIntervalSeconds\'?'],
    ['a key with a space', { 'pod cidrs': [] }, '["pod cidrs"] [] is not a known field; did you mean \'podCidrs\'?'],
    ['a key with a newline', { 'pod\nCidrs': 1 }, '["pod\\nCidrs"] 1 is not a known field; did you mean \'podCidrs\'?'],
    ['a field unlike any', { zzz: 1 }, `zzz 1 is not a known field; ${README}`],
    ['a rule field unlike any', { exemptions: [{ ...RULE, ports: ['53'] }] }, `exemptions[0].ports ["53"] is not a known field; known fields: ${KNOWN_RULE_FIELDS}`],
    ['a long unknown key with a long value', { exemptions: [{ ...RULE, ['k '.repeat(100)]: 'v'.repeat(100_000) }] },
      `exemptions[0]["${'k '.repeat(18)}k…"] "${'v'.repeat(38)}…" (100,002 chars) is not a known field; known fields: ${KNOWN_RULE_FIELDS}`],
    ['a rule field near miss', { exemptions: [{ ...RULE, destinationPort: [53] }] }, 'exemptions[0].destinationPort [53] is not a known field; did you mean \'destinationPorts\'?'],
    // CIDR lists
    ['a scalar CIDR list', { podCidrs: '10.0.0.0/8' }, `podCidrs "10.0.0.0/8" ${CIDRS}`],
    ['a mapping CIDR list', { podCidrs: { a: 1 } }, `podCidrs {"a":1} ${CIDRS}`],
    ['a null CIDR list', { podCidrs: null }, `podCidrs null ${CIDRS}`],
    ['an empty podCidrs', { podCidrs: [] }, 'podCidrs [] must list at least one CIDR, like ["10.0.0.0/16"]'],
    ['an empty nodeCidrs', { nodeCidrs: [] }, 'nodeCidrs [] must list at least one CIDR, or be left out for any address'],
    ['a nested list', { podCidrs: [['10.0.0.0/8']] }, `podCidrs[0] ["10.0.0.0/8"] ${CIDR}`],
    ['a number', { serviceCidrs: ['10.96.0.0/12', 10] }, `serviceCidrs[1] 10 ${CIDR}`],
    ['a circular list', { podCidrs: circular }, `podCidrs[0] […circular…] ${CIDR}`],
    ['host bits', { podCidrs: ['10.0.0.1/8'] }, 'podCidrs[0] "10.0.0.1/8" has host bits set (did you mean 10.0.0.0/8?)'],
    ['a prefix too long', { serviceCidrs: ['10.96.0.0/33'] }, 'serviceCidrs[0] "10.96.0.0/33" has an invalid prefix length (0-32 for ipv4)'],
    ['a host name', { upstreamResolvers: ['dns.google'] }, 'upstreamResolvers[0] "dns.google" is not an IP address or CIDR'],
    ['a terminal escape', { upstreamResolvers: ['\u001b[31m'] }, 'upstreamResolvers[0] "\\u001b[31m" is not an IP address or CIDR'],
    ['a line separator', { upstreamResolvers: ['1.1.1.1\u2028'] }, 'upstreamResolvers[0] "1.1.1.1\\u2028" is not an IP address or CIDR'],
    ['overlapping nodeCidrs', { nodeCidrs: ['10.0.0.0/8', '10.1.0.0/16'] }, 'nodeCidrs[1] "10.1.0.0/16" overlaps nodeCidrs[0] "10.0.0.0/8"'],
    // issue 13: once reported against a generated rule ('k2s-dnsproxy-in'), now against what was written
    ['nodeCidrs for every address', { nodeCidrs: ['0.0.0.0/0', '10.0.0.0/8'] },
      'nodeCidrs[0] "0.0.0.0/0" matches every address: the infrastructure UDP kept open between nodes would be open to every address; list the nodes\' networks, or set allowAnyAddress: true to accept it'],
    ['upstreamResolvers for every address', { upstreamResolvers: ['0.0.0.0/0'] },
      'upstreamResolvers[0] "0.0.0.0/0" matches every address: DNS (udp and tcp 53) would be open to every address; list the resolvers\' own addresses, or set allowAnyAddress: true to accept it'],
    ['a system namespace', { namespace: 'linkerd' },
      'namespace "linkerd" is a system namespace: the firewall would relabel it privileged and \'kubectl delete -f\' would delete it; use a namespace of its own, or set createNamespace: false to deploy into it without emitting it'],
    ['an image with two tags', { linuxImage: 'x:1:2' }, 'linuxImage "x:1:2" repository "x:1" has a ":" that is neither a registry port nor the tag separator'],
    ['a repeated resolver', { customResolvers: ['192.0.2.53', 'fd00::/8', '192.0.2.53'] }, 'customResolvers[2] "192.0.2.53" overlaps customResolvers[0] "192.0.2.53"'],
    // one firewall per node pool (issue 11)
    ['a name too long for its iptables chains', { name: 'edge-pool-east' },
      'name "edge-pool-east" is longer than 12 characters, so its iptables chain HOSTNET-EDGE-POOL-EAST-FORWARD would pass the kernel\'s 28; use a shorter name'],
    ['a nodeSelector list', { nodeSelector: ['edge'] }, 'nodeSelector ["edge"] must map label keys to label values, like {node-pool: edge}'],
    ['a nodeSelector with the OS label', { nodeSelector: { 'kubernetes.io/os': 'linux' } },
      'nodeSelector["kubernetes.io/os"] "linux" is set by the firewall for each agent (linux, windows); choose the OSs with the profile\'s nodeOs instead'],
    ['a nodeSelector key with a space', { nodeSelector: { 'node pool': 'edge' } }, 'nodeSelector["node pool"] "node pool" must be a label key: [a DNS subdomain of at most 253 characters and "/"] a name of 1-63 letters, digits, "-", "_" or "." that starts and ends with a letter or digit'],
    ['a nodeSelector number', { nodeSelector: { 'node-pool': 7 } }, 'nodeSelector.node-pool 7 must be a label value in quotes (a string), like "edge"'],
    ['a nodeSelector value with a semicolon', { nodeSelector: { 'node-pool': 'a;b' } }, 'nodeSelector.node-pool "a;b" must be a label value: empty, or 1-63 letters, digits, "-", "_" or "." that starts and ends with a letter or digit'],
    ['a later wider CIDR', { upstreamResolvers: ['10.1.0.0/16', '10.2.0.0/16', '10.0.0.0/8'] }, 'upstreamResolvers[2] "10.0.0.0/8" overlaps upstreamResolvers[0] "10.1.0.0/16"'],
    ['a long text', { podCidrs: longList }, `podCidrs "10.0.0.0/24, 10.0.1.0/24, 10.0.2.0/24, 10.0.3.0/24, 10.0.4…" (121,956 chars) ${CIDRS}`],
    // single values
    ['a DNS range', { clusterDnsIp: '10.96.0.0/12' }, 'clusterDnsIp "10.96.0.0/12" must be a single address, not a range'],
    ['a DNS number', { clusterDnsIp: 10 }, 'clusterDnsIp 10 must be an IP address, like "10.96.0.10"'],
    ['a DNS list', { nodeLocalDnsIp: ['169.254.20.10'] }, 'nodeLocalDnsIp ["169.254.20.10"] must be an IP address, like "10.96.0.10"'],
    ['a namespace', { namespace: 'Hostnet' }, 'namespace "Hostnet" must be a DNS-1123 label (1-63 lowercase letters, digits or dashes)'],
    ['a scalar nodeOs', { nodeOs: 'linux' }, 'nodeOs "linux" must be a list, like [linux] or [linux, windows]'],
    ['no nodeOs', { nodeOs: [] }, 'nodeOs [] must name at least one of linux, windows: with none, no agent is deployed'],
    ['a repeated nodeOs', { nodeOs: ['linux', 'linux'] }, 'nodeOs[1] "linux" repeats nodeOs[0]'],
    ['an unknown nodeOs', { nodeOs: ['macos'] }, 'nodeOs[0] "macos" must be one of linux, windows'],
    ['a name', { name: 'Hostnet' }, 'name "Hostnet" must be a DNS-1123 label of at most 40 characters, like "hostnet"'],
    ['an image list', { linuxImage: ['x'] }, 'linuxImage ["x"] must be an image reference, like "registry.example.com/agent:v1.0"'],
    ['a huge image', { windowsImage: 'a'.repeat(600) }, `windowsImage "${'a'.repeat(58)}…" (602 chars) must be at most 512 characters`],
    ['an iptables mode', { iptablesMode: 'fast' }, 'iptablesMode "fast" must be one of auto, legacy, nft'],
    ['a backend', { linuxBackend: 'ebpf' }, 'linuxBackend "ebpf" must be one of iptables, nftables'],
    ['negative seconds', { reapplyIntervalSeconds: -5 }, `reapplyIntervalSeconds -5 ${SECONDS}`],
    ['zero seconds', { reapplyIntervalSeconds: 0 }, `reapplyIntervalSeconds 0 ${SECONDS}`],
    ['too few seconds', { reapplyIntervalSeconds: 9 }, `reapplyIntervalSeconds 9 ${SECONDS}`],
    ['too many seconds', { reapplyIntervalSeconds: 86401 }, `reapplyIntervalSeconds 86401 ${SECONDS}`],
    ['huge seconds', { reapplyIntervalSeconds: 1e308 }, `reapplyIntervalSeconds 1e+308 ${SECONDS}`],
    ['infinite seconds', { reapplyIntervalSeconds: Infinity }, `reapplyIntervalSeconds .inf ${SECONDS}`],
    ['fractional seconds', { reapplyIntervalSeconds: 1.5 }, `reapplyIntervalSeconds 1.5 ${SECONDS}`],
    ['seconds as text', { reapplyIntervalSeconds: '60' }, `reapplyIntervalSeconds "60" ${SECONDS}`],
    ['a YAML 1.1 boolean', { createNamespace: 'yes' }, 'createNamespace "yes" must be true or false'],
    ['an unknown mode', { mode: 'dry-run' }, 'mode "dry-run" must be one of enforce, audit, remove'],
    ['a zero drift interval', { driftCheckIntervalSeconds: 0 }, 'driftCheckIntervalSeconds 0 must be a whole number of seconds from 1 to 3600'],
    ['no node at a time', { maxUnavailable: 0 }, 'maxUnavailable 0 must be a whole number of nodes from 1 to 100000'],
    ['negative readiness time', { minReadySeconds: -1 }, 'minReadySeconds -1 must be a whole number of seconds from 0 to 3600'],
    ['an API server without a port', { apiServer: '172.19.1.100' }, 'apiServer "172.19.1.100" must be host:port or [ipv6]:port, like "172.19.1.100:6443"'],
    ['a cluster domain with spaces', { clusterDomain: 'cluster local' }, 'clusterDomain "cluster local" must be a DNS domain, like "cluster.local"'],
    ['the example switch of earlier releases', { compartmentExample: false },
      'compartmentExample false is no longer needed: dist/ holds only the firewall, and the CompartmentWorkload example lives in examples/compartment-workload.ts'],
    ['a number boolean', { createNamespace: 1 }, 'createNamespace 1 must be true or false'],
    ['a null boolean', { allowAnyAddress: null }, 'allowAnyAddress null must be true or false'],
    // exemptions
    ['a mapping of exemptions', { exemptions: { id: 'x' } }, 'exemptions {"id":"x"} must be a list of rules, each a mapping with id, protocol, scopes and description'],
    ['a text exemption', { exemptions: ['x'] }, `exemptions[0] "x" must be ${A_RULE}`],
    ['a list exemption', { exemptions: [[RULE]] }, `exemptions[0] [{"id":"x","protocol":"udp","scopes":["nodeEgress"],"descri… (71 chars) must be ${A_RULE}`],
    ['no description', { exemptions: [{ id: 'x', protocol: 'udp', scopes: ['nodeEgress'] }] },
      'exemptions[0] {"id":"x","protocol":"udp","scopes":["nodeEgress"]} has no description; each entry needs id, protocol, scopes, description'],
    ['ports as text', { exemptions: [{ ...RULE, destinationPorts: '53' }] }, `exemptions[0].destinationPorts "53" ${PORTS}`],
    ['ports as a number', { exemptions: [{ ...RULE, sourcePorts: 53 }] }, `exemptions[0].sourcePorts 53 ${PORTS}`],
    ['ports as a mapping', { exemptions: [{ ...RULE, destinationPorts: { from: 1 } }] }, `exemptions[0].destinationPorts {"from":1} ${PORTS}`],
    ['a nested port list', { exemptions: [{ ...RULE, destinationPorts: [[53]] }] }, `exemptions[0].destinationPorts[0] [53] ${PORT}`],
    ['a boolean port', { exemptions: [{ ...RULE, destinationPorts: [true] }] }, `exemptions[0].destinationPorts[0] true ${PORT}`],
    ['a null port', { exemptions: [{ ...RULE, destinationPorts: [null] }] }, `exemptions[0].destinationPorts[0] null ${PORT}`],
    ['half a range', { exemptions: [{ ...RULE, destinationPorts: ['53-'] }] }, `exemptions[0].destinationPorts[0] "53-" ${PORT}`],
    ['a fractional port', { exemptions: [{ ...RULE, destinationPorts: [53.5] }] }, `exemptions[0].destinationPorts[0] 53.5 ${PORT}`],
    ['port 0', { exemptions: [{ ...RULE, destinationPorts: [0] }] }, 'exemptions[0].destinationPorts[0] 0 must be within 1-65535'],
    ['port 70000', { exemptions: [{ ...RULE, destinationPorts: ['1-70000'] }] }, 'exemptions[0].destinationPorts[0] "1-70000" must be within 1-65535'],
    ['a reversed range', { exemptions: [{ ...RULE, destinationPorts: ['2000-1000'] }] }, 'exemptions[0].destinationPorts[0] "2000-1000" has its start above its end'],
    ['overlapping ports', { exemptions: [{ ...RULE, destinationPorts: [53, '50-60'] }] }, 'exemptions[0].destinationPorts[1] "50-60" overlaps exemptions[0].destinationPorts[0] 53'],
    ['no ports', { exemptions: [{ ...RULE, destinationPorts: [] }] }, 'exemptions[0].destinationPorts [] must list at least one port, or be left out for any port'],
    ['ports with icmp', { exemptions: [{ ...RULE, protocol: 'icmp', destinationPorts: [53] }] },
      'exemptions[0].destinationPorts [53] cannot be used with protocol icmp; ports exist for udp and tcp only'],
    ['a protocol', { exemptions: [{ ...RULE, protocol: 'sctp' }] }, 'exemptions[0].protocol "sctp" must be one of udp, tcp, icmp, any'],
    ['a protocol list', { exemptions: [{ ...RULE, protocol: ['udp'] }] }, 'exemptions[0].protocol ["udp"] must be one of udp, tcp, icmp, any'],
    ['a scalar scope', { exemptions: [{ ...RULE, scopes: 'nodeEgress' }] }, 'exemptions[0].scopes "nodeEgress" must be a list, like [nodeEgress]'],
    ['no scopes', { exemptions: [{ ...RULE, scopes: [] }] }, 'exemptions[0].scopes [] must list at least one of nodeIngress, nodeEgress, podForward'],
    ['an unknown scope', { exemptions: [{ ...RULE, scopes: ['up'] }] }, `exemptions[0].scopes[0] "up" ${SCOPE}`],
    ['a scalar source', { exemptions: [{ ...RULE, sources: '10.0.0.0/8' }] }, `exemptions[0].sources "10.0.0.0/8" ${CIDRS}`],
    ['overlapping destinations', { exemptions: [RULE, { ...RULE, id: 'y', destinations: ['192.0.2.0/24', '192.0.2.10'] }] },
      'exemptions[1].destinations[1] "192.0.2.10" overlaps exemptions[1].destinations[0] "192.0.2.0/24"'],
    ['an action', { exemptions: [{ ...RULE, action: 'block' }] }, 'exemptions[0].action "block" must be one of allow, deny'],
    ['a text overrideFailsafe', { exemptions: [{ ...RULE, action: 'deny', overrideFailsafe: 'yes' }] }, 'exemptions[0].overrideFailsafe "yes" must be true or false'],
    ['overrideFailsafe on an allow rule', { exemptions: [{ ...RULE, overrideFailsafe: true }] },
      'exemptions[0].overrideFailsafe true only applies to deny rules; add action: deny or remove it'],
    ['an id', { exemptions: [{ ...RULE, id: 'Bad_Id' }] }, `exemptions[0].id "Bad_Id" ${RULE_ID}`],
    ['a number id', { exemptions: [{ ...RULE, id: 42 }] }, `exemptions[0].id 42 ${RULE_ID}`],
    ['a repeated id', { exemptions: [RULE, RULE] }, 'exemptions[1].id "x" repeats exemptions[0].id'],
    ['a two-line description', { exemptions: [{ ...RULE, description: 'a\nb' }] }, `exemptions[0].description "a\\nb" ${ONE_LINE}`],
    ['a huge description', { exemptions: [{ ...RULE, description: 'a'.repeat(100_000) }] },
      `exemptions[0].description "${'a'.repeat(58)}…" (100,002 chars) ${ONE_LINE}`],
    // infrastructure
    ['a text infrastructure', { infrastructure: 'x' }, 'infrastructure "x" must be a list of ports to keep open, each a mapping with id, protocol, ports, scopes and description'],
    ['infrastructure ports as text', { infrastructure: [{ ...RULE, ports: '7946' }] }, `infrastructure[0].ports "7946" ${PORTS}`],
    ['no infrastructure ports', { infrastructure: [{ ...RULE, ports: [] }] }, 'infrastructure[0].ports [] must list at least one port, like [4789]'],
    ['an infrastructure protocol', { infrastructure: [{ ...RULE, protocol: 'icmp', ports: [1] }] }, 'infrastructure[0].protocol "icmp" must be one of udp, tcp'],
    ['a profile\'s infrastructure id', { infrastructure: [{ ...RULE, id: 'k2s-dnsproxy', ports: [53] }] },
      'infrastructure[0].id "k2s-dnsproxy" is already an infrastructure id of profile \'k2s\'; choose another'],
    ['an infrastructure scope', { infrastructure: [{ ...RULE, ports: [1], scopes: ['up'] }] }, `infrastructure[0].scopes[0] "up" ${SCOPE}`],
    ['a text fromPods', { infrastructure: [{ ...RULE, ports: [1], fromPods: 'true' }] }, 'infrastructure[0].fromPods "true" must be true or false'],
  ])('refuses %s', (_, doc, message) => {
    // WHEN
    const parse = () => parseClusterConfig('cluster.yaml', doc, ClusterProfiles.k2s());
    // THEN
    expectRefusal(parse, `cluster.yaml: ${message}`);
  });

  test.each<[string, string | Buffer, string]>([
    ['a syntax error', 'podCidrs: [10.0.0.0/8\n',
      'FILE:2:1: is not valid YAML: flow sequence in block collection must be sufficiently indented and end with a ]'],
    ['an unclosed quote', 'name: "hostnet\n', 'FILE:2:1: is not valid YAML: missing closing "quote'],
    ['tabs', 'podCidrs:\n\t- 10.0.0.0/8\n', 'FILE:2:1: is not valid YAML: tabs are not allowed as indentation'],
    ['a repeated key', 'podCidrs: [10.0.0.0/8]\npodCidrs: [10.1.0.0/16]\n', 'FILE:2:1: is not valid YAML: key "podCidrs" appears twice in one mapping'],
    ['a repeated nested key', 'exemptions:\n  - { id: a, id: b }\n', 'FILE:2:14: is not valid YAML: key "id" appears twice in one mapping'],
    ['an alias without anchor', 'podCidrs: *cidrs\n', 'FILE:1:11: is not valid YAML: alias *cidrs has no anchor &cidrs before it'],
    ['an alias before its anchor', 'podCidrs: *a\nserviceCidrs: &a [10.96.0.0/12]\n', 'FILE:1:11: is not valid YAML: alias *a has no anchor &a before it'],
    ['a circular list', 'podCidrs: &a [*a]\n', 'FILE:1:15: is not valid YAML: alias *a is inside its own anchor &a, so its value never ends'],
    ['a circular mapping', 'exemptions: [&e { id: x, more: *e }]\n', 'FILE:1:32: is not valid YAML: alias *e is inside its own anchor &e, so its value never ends'],
    ['a JavaScript function', 'name: !!js/function "function () {}"\n', `FILE:1:7: is not valid YAML: tag !!js/function ${TAGS}`],
    ['an unknown tag', 'podCidrs: [!cidr 10.0.0.0/8]\n', `FILE:1:12: is not valid YAML: tag !cidr ${TAGS}`],
    ['a binary', 'name: !!binary aG9zdG5ldA==\n', `FILE:1:7: is not valid YAML: tag !!binary ${TAGS}`],
    ['a set', 'nodeOs: !!set { linux }\n', `FILE:1:9: is not valid YAML: tag !!set ${TAGS}`],
    ['two documents', 'podCidrs: [10.0.0.0/8]\n---\nserviceCidrs: [10.96.0.0/12]\n', 'FILE:3:1: is not valid YAML: a second document starts here; put all overrides in one document'],
    ['a YAML version', '%YAML 1.3\n---\nname: x\n', 'FILE:1:7: is not valid YAML: unsupported YAML version 1.3'],
    ['a list as key', '? [podCidrs]\n: [10.0.0.0/8]\n', 'FILE:1:3: is not valid YAML: keys must be text, not lists, mappings or aliases'],
    ['an alias as key', 'name: &k podCidrs\n*k : [10.0.0.0/8]\n', 'FILE:2:1: is not valid YAML: keys must be text, not lists, mappings or aliases'],
    ['a key over 1024 characters', `${'k'.repeat(1100)}: 1\n`,
      'FILE:1:1: is not valid YAML: the : indicator must be at most 1024 chars after the start of an implicit block mapping key'],
    ['100,000 nested brackets', `podCidrs: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`, 'FILE:1:74: is not valid YAML: nests deeper than 64 levels'],
    ['100,000 nested list items', `${'- '.repeat(100_000)}x\n`, 'FILE:1:129: is not valid YAML: nests deeper than 64 levels'],
    ['a staircase of lists in mappings', `k:\n${Array.from({ length: 50 }, (_, i) => `${' '.repeat(2 * i)}- k:`).join('\n')} x\n`,
      'FILE:33:65: is not valid YAML: nests deeper than 64 levels'],
    ['1,001 anchors', `podCidrs: [${Array.from({ length: 1001 }, (_, i) => `&a${i} ${tenDot(i)}`).join(', ')}]\n`,
      'FILE:1:17469: is not valid YAML: defines more than 1,000 anchors'],
    ['1,001 aliases', `name: &n x\nexemptions: [${Array(1001).fill('*n').join(', ')}]\n`, 'FILE:2:4014: is not valid YAML: uses more than 1,000 aliases'],
    ['a billion laughs', ['a: &a [x, x, x, x, x, x, x, x, x]', ...'bcdefghi'.split('').map((c, i) => `${c}: &${c} [${Array(9).fill(`*${'abcdefghi'[i]}`).join(', ')}]`)].join('\n'),
      'FILE:6:8: is not valid YAML: aliases repeat more than 100,000 values; repeat fewer or smaller anchors'],
    ['an anchor reused by nested aliases', ['x: &y [a]', `z: [${Array(500).fill('*y').join(', ')}]`, 'w: &x [*y]', `v: [${Array(200).fill('*x').join(', ')}]`].join('\n'),
      'FILE:2:5: is not valid YAML: aliases repeat values too often (excessive alias count indicates a resource exhaustion attack)'],
    ['UTF-16', Buffer.from('\ufeffname: x\n', 'utf16le'), 'FILE:1:1: is not valid YAML: the file is UTF-16 text; save it as UTF-8'],
    ['Latin-1', Buffer.from('name: h\xf6stnet\n', 'latin1'), 'FILE:1:8: is not valid YAML: the file is not UTF-8 text'],
    ['a YAML 1.1 sexagesimal number', '%YAML 1.1\n---\nreapplyIntervalSeconds: 1:30\n', `FILE: reapplyIntervalSeconds "1:30" ${SECONDS}`],
    ['a null value', 'exemptions:\n', 'FILE: exemptions null must be a list of rules, each a mapping with id, protocol, scopes and description'],
    ['a numeric key', '1: a\n', `FILE: ["1"] "a" is not a known field; ${README}`],
    ['a null key', '~: a\n', `FILE: ["~"] "a" is not a known field; ${README}`],
    ['a merge key', 'exemptions: [&b { id: x, protocol: udp, scopes: [nodeEgress], description: d }, { <<: *b, id: y }]\n',
      `FILE: exemptions[1]["<<"] {"id":"x","protocol":"udp","scopes":["n… (69 chars) is not a known field; known fields: ${KNOWN_RULE_FIELDS}`],
  ])('refuses %s', (_, content, message) => {
    // GIVEN
    const file = configFile(content);
    // WHEN
    const load = () => loadClusterConfig(file, ClusterProfiles.k2s());
    // THEN
    expectRefusal(load, message.replace('FILE', file));
  });

  test('a 90 KB file that reuses a 6,000-entry anchor 60 times is refused at once', () => {
    // GIVEN
    const addresses = Array.from({ length: 6000 }, (_, i) => tenDot(i * 256 + 100)).join(', ');
    const rule = (i: number, destinations: string) => `  - { id: e${i}, protocol: udp, scopes: [nodeEgress], description: d, destinations: ${destinations} }`;
    const content = ['exemptions:', rule(0, `&a [${addresses}]`), ...Array.from({ length: 59 }, (_, i) => rule(i + 1, '*a'))].join('\n');
    const file = configFile(content);
    // WHEN
    const started = Date.now();
    const message = messageOf(() => loadClusterConfig(file, ClusterProfiles.k2s()));
    // THEN
    expect(content.length).toBeGreaterThan(90_000);
    expect(message).toBe(`${file}:19:83: is not valid YAML: aliases repeat more than 100,000 values; repeat fewer or smaller anchors`);
    expect(Date.now() - started).toBeLessThan(5000); // refused before the aliases expand to 360,000 destinations
  });

  test('finds an overlap among 100,000 CIDRs without comparing every pair', () => {
    // GIVEN
    const cidrs = Array.from({ length: 100_000 }, (_, i) => `${tenDot(i)}/32`);
    cidrs.push('10.1.0.0/16');
    // WHEN
    const started = Date.now();
    const message = messageOf(() => parseClusterConfig('cluster.yaml', { podCidrs: cidrs }, ClusterProfiles.k2s()));
    // THEN
    expect(message).toBe('cluster.yaml: podCidrs[100000] "10.1.0.0/16" overlaps podCidrs[65536] "10.1.0.0/32"');
    expect(Date.now() - started).toBeLessThan(15_000); // every pair would be 5,000,000,000 comparisons
  });

  test('a missing file names CLUSTER_CONFIG', () => {
    // GIVEN
    const file = join(newDir(), 'missing.yaml');
    // THEN
    expectRefusal(() => loadClusterConfig(file, ClusterProfiles.k2s()), `CLUSTER_CONFIG names ${file}, which does not exist`);
  });

  test('a directory names CLUSTER_CONFIG', () => {
    // GIVEN
    const dir = join(newDir(), 'cluster.yaml');
    mkdirSync(dir);
    // THEN
    expectRefusal(() => loadClusterConfig(dir, ClusterProfiles.k2s()), `CLUSTER_CONFIG names ${dir}, which is a directory; name a YAML file`);
  });

  test('a file over 8 MiB is refused before it is read', () => {
    // GIVEN
    const file = configFile('');
    truncateSync(file, 9 * 1024 * 1024);
    // THEN
    expectRefusal(() => loadClusterConfig(file, ClusterProfiles.k2s()),
      `CLUSTER_CONFIG names ${file}, which is 9,437,184 bytes; the limit is 8 MiB (8,388,608 bytes)`);
  });

  test('a file name with a newline is quoted', () => {
    // GIVEN
    const file = join(newDir(), 'a\nb.yaml');
    // THEN
    expectRefusal(() => loadClusterConfig(file, ClusterProfiles.k2s()), `CLUSTER_CONFIG names ${JSON.stringify(file)}, which does not exist`);
  });
});

describe('the README', () => {
  test('its CLUSTER_CONFIG example loads and synthesizes with the profile it names', () => {
    // GIVEN the first yaml block under "Overriding a profile"
    const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Overriding a profile: `CLUSTER_CONFIG`'));
    const block = /```yaml\n([\s\S]*?)```/.exec(section)![1];
    const profile = /CLUSTER_PROFILE=(\S+)/.exec(block)![1];
    const file = join(mkdtempSync(join(tmpdir(), 'hostnet-readme-')), 'cluster.yaml');
    writeFileSync(file, block);
    // WHEN
    const config = loadClusterConfig(file, ClusterProfiles.byName(profile));
    const objects = Testing.synth(buildApp(Testing.app(), config).hostnet);
    // THEN every field it shows took effect somewhere
    expect(config.exemptions.map((e) => e.id)).toEqual(['ntp', 'wsus', 'no-smb-out']);
    expect(objects.map((o) => o.kind)).toContain('DaemonSet');
  });
});

describe('rule and profile problems are reported against the override file (found by the fuzzer)', () => {
  const load = (profile: string, content: string) => {
    const file = join(mkdtempSync(join(tmpdir(), 'hostnet-rules-')), 'cluster.yaml');
    writeFileSync(file, content);
    return () => Testing.synth(buildApp(Testing.app(), loadClusterConfig(file, ClusterProfiles.byName(profile))).hostnet);
  };

  test.each([
    ['an exemption that reuses a built-in id', 'k2s', 'exemptions: [{id: dns-upstream, protocol: udp, scopes: [nodeEgress], description: x}]',
      /^\S*cluster\.yaml: exemptions\[0\]\.id "dns-upstream" /],
    ['a deny that does nothing under deny-udp', 'k2s', 'exemptions: [{id: no-udp, action: deny, protocol: udp, scopes: [nodeEgress], destinationPorts: [9999], description: x}]',
      /^\S*cluster\.yaml: exemptions\[0\]\.\w+ .* no effect/],
    ['sources and destinations of two families', 'k2s', 'exemptions: [{id: x, protocol: udp, scopes: [nodeEgress], sources: [10.0.0.0/8], destinations: ["2001:db8::/32"], description: x}]',
      /^\S*cluster\.yaml: exemptions\[0\]\./],
    ['a profile value the file does not give', 'k0s-calico', '{}',
      /^\S*cluster\.yaml: profile 'k0s-calico' upstreamResolvers \[\] must list at least one CIDR/],
  ])('%s', (_, profile, content, message) => {
    expect(load(profile, content)).toThrow(message);
  });

  test('node and pod networks that nest still synthesize (the dnsproxy rule lists the wider one only)', () => {
    const objects = load('k2s', 'nodeCidrs: [172.16.0.0/12]')();
    const apply = objects.find((o: any) => o.metadata?.name === 'hostnet-windows-scripts').data['apply.ps1'];
    // udp/53 inbound is blocked from everyone outside the node range, which holds the pod range
    expect(apply).toContain("RemoteAddress = @('0.0.0.0-172.15.255.255', '172.32.0.0-255.255.255.255')\n    LocalPort     = @('53')");
  });
});
