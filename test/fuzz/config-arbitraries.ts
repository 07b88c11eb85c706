// fast-check generators of CLUSTER_CONFIG files, random and hostile, as YAML text (or raw bytes).
//
// A case is a profile plus a file. About a third of the files are documents a user could have written
// (the real field names, values valid for the profile), so that many cases reach the renderers and
// the real kernel; the rest carry wrong types and values, text aimed at sh, nft, iptables-restore
// and PowerShell, very long values and lists, and YAML features a config file does not need
// (anchors, alias bombs, tags, duplicate keys, deep nesting, several documents, binary garbage).
import fc from 'fast-check';
import { Anchored, Pairs, Raw, YamlStyle, YamlValue, toYamlText } from './yaml-text';

export const FUZZ_PROFILES = ['k2s', 'k0s-calico', 'cfke-cilium', 'generic'] as const;
export type FuzzProfile = typeof FUZZ_PROFILES[number];

export interface FuzzCase {
  readonly profile: FuzzProfile;
  /** Which generator made it, for the summary and for grouping failures. */
  readonly kind: string;
  /** The file's content: text, or bytes for encodings and garbage. */
  readonly content: string | Uint8Array;
}

// ---------------------------------------------------------------------------------------------
// Text aimed at the renderers. Valid descriptions are one line of printable ASCII: all of these
// fragments are allowed there and end up in sh comments, nft/iptables-restore comments and
// PowerShell single-quoted strings.

const SHELL_AND_PS_FRAGMENTS = [
  '$(reboot)', '`reboot`', '\'', '"', '\\', '; reboot #', '&& reboot', '| sh', '$HOME', '${IFS}', '$1', '$@', '*', '?', '~',
  '$env:COMPUTERNAME', '$(Stop-Computer -Force)', '@(1,2)', '@{a=1}', '@\'', '\'@', '@"', '"@', '<#', '#>', '%PATH%', '`n', '`0',
  '\'; Remove-NetFirewallRule -All; \'', '"; Stop-Computer; "', '{', '}', '[', ']', ';', '#', '!', '--', '-j ACCEPT', 'COMMIT',
  'RULES', 'EOF', 'END', '-A HOSTNET-INPUT -j ACCEPT', 'flush ruleset', '}; flush ruleset; {', '\\n', '\\', '\\\\', '%s', '%n',
  '<script>', '&amp;', '0<&1', '>/etc/passwd', '2>&1', 'exit 0', ':', ',', '..', '/*', '*/', '//', '|| true',
];
/** Characters valid YAML carries into strings, none of them allowed in ids or descriptions. */
const UNICODE_FRAGMENTS = [
  'ü', 'ß', '日本語', '🔥', '👨‍👩‍👧', '\u202e', '\u200b', '\u00ad', '\ufeff', '\u2028', '\u2029', '\u00a0', '\u0085', 'İ', 'ǅ',
  '\u0000', '\u0007', '\u001b[31m', '\r', '\n', '\t', '\r\n', '\u007f', '\u009b', '\ud800', '\udfff', '\ufffe', 'Ω', '\u0301',
];

const asciiFragment = fc.oneof(fc.constantFrom(...SHELL_AND_PS_FRAGMENTS), fc.string({ minLength: 1, maxLength: 12 }));
/** One line of 1-200 printable ASCII characters: a valid description, full of metacharacters. */
const validDescription = fc.array(asciiFragment, { minLength: 1, maxLength: 10 })
  .map((parts) => parts.join(' ').slice(0, 200).trim() || 'x');
const hostileText = fc.array(fc.oneof(asciiFragment, fc.constantFrom(...UNICODE_FRAGMENTS)), { minLength: 1, maxLength: 8 })
  .map((parts) => parts.join(''));

/** 10 KB to 100 KB of one repeated pattern. */
const longText = fc.tuple(fc.integer({ min: 10_000, max: 100_000 }), fc.constantFrom('a', 'a-', '$(reboot)', '10.0.0.0/8,', 'ü', '🔥', '\'"`', 'line\n'))
  .map(([length, unit]) => unit.repeat(Math.ceil(length / unit.length)).slice(0, length));

// ---------------------------------------------------------------------------------------------
// Values of no particular field: what a confused user or a hostile file puts anywhere.

const anyScalar: fc.Arbitrary<YamlValue> = fc.oneof(
  fc.constantFrom<YamlValue>(null, true, false, 0, -1, 1, 1.5, -0, 1e21, 2 ** 53 + 1, NaN, Infinity, -Infinity, '', ' ', 'null', 'undefined!', 'yes',
    new Raw('~'), new Raw('yes'), new Raw('off'), new Raw('0x35'), new Raw('0o17'), new Raw('017'), new Raw('1_000'), new Raw('1:30'),
    new Raw('2001-12-14'), new Raw('!!binary aGVsbG8='), new Raw('!!js/function "function () { return 1 }"'), new Raw('!!js/undefined ""'),
    new Raw('!!js/regexp /x/'), new Raw('!!python/object/apply:os.system ["reboot"]'), new Raw('!custom x'), new Raw('!!timestamp 2001-12-14'),
    new Raw('!!float "53"'), new Raw('!!int "53"'), new Raw('!!str 53'), new Raw('!<tag:yaml.org,2002:str> x'), new Raw('!!set {a, b}'),
    new Raw('*nowhere'), new Raw('"\\x00"'), new Raw('|\n  block')),
  fc.integer(),
  fc.double(),
  hostileText,
  validDescription,
);
const anyValue: fc.Arbitrary<YamlValue> = fc.letrec<{ value: YamlValue }>((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true },
    anyScalar,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.oneof(fc.constantFrom('id', 'a', 'podCidrs', ''), fc.string({ maxLength: 6 })), tie('value'), { maxKeys: 3 })),
})).value;

// ---------------------------------------------------------------------------------------------
// Addresses and CIDRs

/** Network pools that do not overlap one another, so that valid documents stay valid. */
const POOLS = {
  pod: [...range(16).map((i) => `10.${32 + i}.0.0/16`), ...range(4).map((i) => `fd00:10:${i}::/64`)],
  service: [...range(8).map((i) => `10.${96 + i}.0.0/16`), 'fd00:96::/108'],
  resolver: [...range(40).map((i) => `192.0.2.${i + 1}`), ...range(8).map((i) => `2001:db8::${i + 1}`), '192.0.2.128/25', 'fe80::53%eth0'],
  node: [...range(16).map((i) => `192.168.${i}.0/24`), ...range(4).map((i) => `fd00:ff:${i}::/64`), '172.16.0.0/12'],
  custom: [...range(20).map((i) => `198.51.100.${i + 1}`), ...range(4).map((i) => `2001:db8:1::${i + 1}`), '::ffff:198.51.100.200'],
  peer: [...range(50).map((i) => `203.0.${i}.0/24`), ...range(10).map((i) => `2001:db8:${(i + 16).toString(16)}::/48`), '100.64.0.1', 'fe80::1%eth0'],
};

const octet = fc.integer({ min: 0, max: 255 });
/** A v4 network with its host bits cleared (valid) or as drawn (often host bits set). */
/* eslint-disable no-bitwise */
const cidr4 = fc.tuple(octet, octet, octet, octet, fc.integer({ min: 0, max: 32 }), fc.boolean()).map(([a, b, c, d, prefix, mask]) => {
  const address = ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
  const netmask = prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0;
  const n = mask ? (address & netmask) >>> 0 : address;
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}/${prefix}`;
});
/* eslint-enable no-bitwise */
const cidr6 = fc.tuple(fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 1, maxLength: 8 }), fc.integer({ min: 0, max: 128 }))
  .map(([groups, prefix]) => `${groups.map((g) => g.toString(16)).join(':')}${groups.length < 8 ? '::' : ''}/${prefix}`);
const badCidr = fc.constantFrom('256.0.0.0/8', '10.0.0.0/33', '10.0.0/8', '010.0.0.0/8', '10.0.0.0/08', ' 10.0.0.0/8', '10.0.0.0/8 ', '10.0.0.0 /8',
  '10.0.0.0/-1', '0x0a.0.0.0/8', '10.0.0.0/8/8', '1.2.3.4.5', '', '10.0.0.0/', '/8', '10.0.0.0\n/8', '1e1.0.0.0/8', '10.1.2.3/8', '::/129',
  '2001:db8::1/64', '1:2:3:4:5:6:7:8:9', ':::', 'fe80::1%', 'fe80::1%$(reboot)', '::ffff:999.1.1.1', 'localhost', '10.0.0.1-10.0.0.9', '*',
  '0.0.0.0/0', '::/0', '0.0.0.0', '::', '255.255.255.255/32', '127.0.0.1', '::1/128', '10.0.0.0/8;reboot', '10.0.0.0/8$(reboot)', 'ＡＢ::1');
const anyCidr = fc.oneof(cidr4, cidr6, badCidr);

/** A list of networks from a pool: distinct and disjoint. */
function poolList(pool: string[], maxLength = 4): fc.Arbitrary<YamlValue> {
  return fc.subarray(pool, { minLength: 1, maxLength })
    .chain((list) => fc.shuffledSubarray(list, { minLength: list.length, maxLength: list.length }));
}

/** 300-2,500 distinct /24 networks (from 100.64.0.0/10), now and then with a duplicate or an overlap. */
const hugeCidrList: fc.Arbitrary<YamlValue> = fc.tuple(fc.integer({ min: 300, max: 2500 }), fc.constantFrom('distinct', 'duplicate', 'overlap', 'bad'))
  .map(([count, twist]) => {
    // eslint-disable-next-line no-bitwise
    const list: YamlValue[] = range(count).map((i) => `100.${64 + (i >> 8)}.${i & 255}.0/24`);
    if (twist === 'duplicate') list.push(list[count >> 1]); // eslint-disable-line no-bitwise
    if (twist === 'overlap') list.push('100.64.0.0/10');
    if (twist === 'bad') list.splice(count >> 1, 0, '100.64.0.0/33'); // eslint-disable-line no-bitwise
    return list;
  });

const cidrListInvalid: fc.Arbitrary<YamlValue> = fc.oneof(
  fc.array(anyCidr, { minLength: 1, maxLength: 5 }),
  fc.constantFrom<YamlValue>([], '10.0.0.0/8', ['10.0.0.0/8', '10.0.0.0/8'], ['10.0.0.0/8', '10.1.0.0/16'], ['0.0.0.0/0', '10.0.0.0/8'], [['10.0.0.0/8']],
    [null], [10], [{ cidr: '10.0.0.0/8' }], { a: '10.0.0.0/8' }, null, ['0.0.0.0/0'], ['::/0'], ['0.0.0.0/0', '::/0'], ['fe80::1%eth0']),
  anyValue,
);

// ---------------------------------------------------------------------------------------------
// Ports

const validPorts: fc.Arbitrary<YamlValue> = fc.uniqueArray(fc.integer({ min: 1, max: 65535 }), { minLength: 1, maxLength: 5 })
  .chain((ports) => fc.tuple(...ports.map((p) => fc.oneof(fc.constant<YamlValue>(p), fc.constant<YamlValue>(String(p))))))
  .map((items) => items as YamlValue[]);
const portRangeText = fc.tuple(fc.integer({ min: 1, max: 65535 }), fc.integer({ min: 1, max: 65535 }))
  .map(([a, b]) => `${Math.min(a, b)}-${Math.max(a, b)}`);
const badPort = fc.constantFrom<YamlValue>(0, 65536, -1, 1.5, 99999999999999999999, '0', '65536', '2000-1000', '0-5', '53-', '-53', '1e3', ' 53', '0x35',
  '53,54', '53 54', '١٢٣', '53-53-53', '', true, null, [53], { port: 53 }, NaN, Infinity, new Raw('0x35'), new Raw('.inf'), '$(reboot)');
const portsInvalid: fc.Arbitrary<YamlValue> = fc.oneof(
  fc.array(fc.oneof(badPort, fc.integer({ min: 1, max: 65535 }), portRangeText), { minLength: 1, maxLength: 4 }),
  fc.constantFrom<YamlValue>([], '53', 53, [53, 53], ['1-100', '50-60'], [1, 65535, '1-65535'], [[53]], null),
  anyValue,
);
const portsValid: fc.Arbitrary<YamlValue> = fc.oneof(validPorts, portRangeText.map((r) => [r] as YamlValue), fc.constantFrom<YamlValue>([1], [65535], ['1-65535'], ['053']));

// ---------------------------------------------------------------------------------------------
// Words, ids, names

const SCOPES = ['nodeIngress', 'nodeEgress', 'podForward'];
const scopesValid = fc.subarray(SCOPES, { minLength: 1 }).map((s) => s as YamlValue);
const scopesInvalid = fc.oneof(fc.constantFrom<YamlValue>([], 'nodeEgress', ['NodeEgress'], ['nodeEgress', 'nodeEgress'], ['input'], [null], [['nodeEgress']]), anyValue);
const nodeOsValid = fc.constantFrom<YamlValue>(['linux'], ['windows'], ['linux', 'windows'], ['windows', 'linux']);
const nodeOsInvalid = fc.oneof(fc.constantFrom<YamlValue>([], ['Linux'], 'linux', ['linux', 'linux'], ['darwin'], [null], ['linux', 'windows', 'linux'], 'linux,windows'), anyValue);

/** Ids the profiles and the DNS exemption use themselves, and ids at the length limits. */
const RESERVED_IDS = ['dhcp-client-out', 'dhcp-client-in', 'dhcpv6-client-out', 'dhcpv6-client-in', 'dns-cluster-service', 'dns-coredns-pods',
  'dns-upstream', 'dns-custom', 'dns-node-local-cache', 'dns-node-local-replies', 'calico-vxlan-in', 'calico-vxlan-out', 'wireguard-mesh',
  'cilium-vxlan', 'k2s-dnsproxy', 'k2s-dnsproxy-in', 'albums-win-udp', 'a'.repeat(44), 'a'.repeat(48)];
// (a leading letter: YAML reads a plain `7` as a number, which is no id)
const ruleId = fc.oneof({ weight: 20, arbitrary: fc.stringMatching(/^[a-z]([a-z0-9-]{0,10}[a-z0-9])?$/) }, { weight: 1, arbitrary: fc.constantFrom(...RESERVED_IDS) });
const idInvalid = fc.oneof(fc.constantFrom<YamlValue>('', '7', 'UDP', 'a_b', '-a', 'a-', 'a'.repeat(49), 'ntp\n', 'a b', 'ntp;reboot', '$(reboot)', 12, null, ['a']),
  hostileText, anyValue);

const SYSTEM_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease', 'linkerd', 'linkerd-cni', 'kube-flannel', 'calico-system'];
const label = fc.stringMatching(/^[a-z]([-a-z0-9]{0,20}[a-z0-9])?$/);
// (a system namespace is valid with createNamespace: false, which plausible documents then set)
const namespaceValid = fc.oneof({ weight: 6, arbitrary: fc.oneof(label, fc.constantFrom('hostnet-system', 'a', 'x'.repeat(63))) },
  { weight: 1, arbitrary: fc.constantFrom(...SYSTEM_NAMESPACES) });
const namespaceInvalid = fc.oneof(fc.constantFrom<YamlValue>(...SYSTEM_NAMESPACES, '2', 'Kube-System', 'x'.repeat(64), 'a.b', '-a', '', 'ns\n', 'hostnet-system '), hostileText, anyValue);
// a name other than hostnet names iptables chains HOSTNET-<NAME>-FORWARD: at most 12 characters
const nameValid = fc.oneof(fc.stringMatching(/^[a-z]([-a-z0-9]{0,10}[a-z0-9])?$/), fc.constantFrom('hostnet', 'x'.repeat(12)));
const nameInvalid = fc.oneof(fc.constantFrom<YamlValue>('x'.repeat(13), 'x'.repeat(40), 'x'.repeat(41), 'Hostnet', 'host_net', '', '-a', 'a.b', '$(reboot)'), hostileText, anyValue);

const DIGEST = `sha256:${'0123456789abcdef'.repeat(4)}`;
const imageValid = fc.constantFrom('registry.k8s.io/build-image/distroless-iptables:v0.9.6', 'registry.example.com:5000/a/b:v1.2', `x@${DIGEST}`,
  `reg.example/x:1.0@${DIGEST}`, 'localhost/x:1_a', '[::1]:5000/x:1', 'a__b/c--d:_', `x:${'a'.repeat(128)}`, 'mcr.microsoft.com/oss/kubernetes/windows-host-process-containers-base-image:v1.0.0');
const imageInvalid = fc.oneof(fc.constantFrom<YamlValue>('x:1:2', 'x@sha256:abc', 'http://evil/x:1', `x:${'a'.repeat(200)}`, 'x', 'x:latest', 'X:1', 'x: 1',
  'x:1@sha256:', `x@sha512:${'0'.repeat(128)}`, 'x:-1', 'x:.1', 'a//b:1', 'x:1\nreboot', 'x:$(reboot)', '', 'x@y@z', `${'a'.repeat(300)}:1`), hostileText, anyValue);

// ---------------------------------------------------------------------------------------------
// Documents

/** The value of one field: left out, valid or invalid (with `invalidWeight` 0 the document stays plausible). */
function field(valid: fc.Arbitrary<YamlValue>, invalid: fc.Arbitrary<YamlValue>, weights: { absent: number; valid: number; invalid: number }) {
  return fc.oneof(
    { weight: weights.absent, arbitrary: fc.constant(ABSENT) },
    { weight: weights.valid, arbitrary: valid },
    { weight: weights.invalid, arbitrary: invalid },
  );
}
const ABSENT = new Raw('(absent)');

function mappingWithout(fields: Record<string, YamlValue>): Record<string, YamlValue> {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== ABSENT));
}

type Mood = 'plausible' | 'mixed';
const WEIGHTS: Record<Mood, { absent: number; valid: number; invalid: number }> = {
  plausible: { absent: 12, valid: 8, invalid: 0 },
  mixed: { absent: 20, valid: 8, invalid: 2 },
};

function exemption(mood: Mood): fc.Arbitrary<YamlValue> {
  const w = WEIGHTS[mood];
  const rare = { ...w, invalid: w.invalid / 2 }; // invalid weights are even
  return fc.record({
    id: field(ruleId, idInvalid, { ...rare, absent: w.invalid }),
    action: field(fc.constantFrom('allow', 'deny'), fc.constantFrom<YamlValue>('Allow', 'reject', 'drop', null, true), w),
    protocol: field(fc.constantFrom('udp', 'udp', 'udp', 'udp', 'tcp', 'icmp', ...(mood === 'plausible' ? [] : ['any'])),
      fc.constantFrom<YamlValue>('UDP', 'sctp', 17, null, '', 'udp '), { ...rare, absent: w.invalid }),
    scopes: field(scopesValid, scopesInvalid, { ...rare, absent: w.invalid }),
    sources: field(poolList(POOLS.peer), cidrListInvalid, w),
    destinations: field(poolList(POOLS.peer), cidrListInvalid, w),
    destinationPorts: field(portsValid, portsInvalid, w),
    sourcePorts: field(portsValid, portsInvalid, { ...w, absent: w.absent * 3 }),
    nodeOs: field(nodeOsValid, nodeOsInvalid, w),
    description: field(validDescription, fc.oneof(hostileText, longText, fc.constant<YamlValue>('x'.repeat(201)), anyValue), { ...rare, absent: w.invalid }),
    overrideFailsafe: field(fc.boolean(), fc.constantFrom<YamlValue>('true', 1, null, 'yes'), { ...w, absent: w.absent * 3 }),
  }).chain((rule) => (mood === 'plausible'
    // one rule in eight as a user who did not read the README writes it: tcp allowed, udp denied, no overrideFailsafe
    ? fc.constantFrom(...Array<boolean>(7).fill(true), false).map((sensible) => (sensible ? sensibleRule(rule) : rule))
    : fc.constant(rule))).map(mappingWithout);
}

/**
 * A rule as a user who read the README writes it: udp allowed, tcp and icmp denied (the policy
 * denies udp and allows the rest by default, so the opposite has no effect and is refused), ports
 * for udp and tcp only, overrideFailsafe on deny rules only (and on all of them: a deny rule without
 * destinations would cut the DNS failsafes), sources and destinations of one family.
 */
function sensibleRule(rule: Record<string, YamlValue>): Record<string, YamlValue> {
  const r = { ...rule };
  if (r.protocol === 'udp') r.action = r.action === ABSENT ? ABSENT : 'allow';
  else r.action = 'deny';
  if (r.protocol === 'icmp' || r.protocol === 'any') r.destinationPorts = r.sourcePorts = ABSENT;
  if (r.action !== 'deny') r.overrideFailsafe = ABSENT;
  if (r.action === 'deny') r.overrideFailsafe = true; // a deny rule without destinations cuts the DNS failsafes
  if (Array.isArray(r.sources) && Array.isArray(r.destinations)) {
    const v6 = (c: YamlValue) => String(c).includes(':');
    const families = new Set(r.sources.map(v6));
    const kept = r.destinations.filter((d) => families.has(v6(d)));
    r.destinations = kept.length > 0 ? kept : ABSENT;
  }
  return r;
}

function infrastructure(mood: Mood): fc.Arbitrary<YamlValue> {
  const w = WEIGHTS[mood];
  const rare = { ...w, invalid: w.invalid / 2 }; // invalid weights are even
  return fc.record({
    id: field(ruleId, idInvalid, { ...rare, absent: w.invalid }),
    protocol: field(fc.constantFrom('udp', 'tcp'), fc.constantFrom<YamlValue>('icmp', 'any', 'UDP', null), { ...rare, absent: w.invalid }),
    ports: field(portsValid, portsInvalid, { ...rare, absent: w.invalid }),
    scopes: field(scopesValid, scopesInvalid, { ...rare, absent: w.invalid }),
    nodeOs: field(nodeOsValid, nodeOsInvalid, w),
    fromPods: field(fc.boolean(), fc.constantFrom<YamlValue>('false', 0, null), w),
    description: field(validDescription, fc.oneof(hostileText, longText, anyValue), { ...rare, absent: w.invalid }),
  }).map(mappingWithout);
}

/** Fields a profile cannot do without (the others refuse to synthesize without upstream resolvers). */
const REQUIRED: Record<FuzzProfile, string[]> = {
  'k2s': [],
  'k0s-calico': ['upstreamResolvers'],
  'cfke-cilium': ['upstreamResolvers'],
  'generic': ['podCidrs', 'serviceCidrs', 'clusterDnsIp', 'upstreamResolvers'],
};

/** A mapping of override fields, as a value (not yet text). */
function overrides(profile: FuzzProfile, mood: Mood): fc.Arbitrary<Record<string, YamlValue>> {
  const w = WEIGHTS[mood];
  const required = (name: string) => (REQUIRED[profile].includes(name) ? { ...w, absent: mood === 'plausible' ? 0 : 1, valid: 24 } : w);
  // (every address is valid with allowAnyAddress: true, which plausible documents then set)
  const anyAddress = fc.constantFrom<YamlValue>(['0.0.0.0/0'], ['::/0'], ['0.0.0.0/0', '::/0']);
  const listOrAny = (pool: string[]) => fc.oneof({ weight: 12, arbitrary: poolList(pool) }, { weight: 1, arbitrary: anyAddress });
  const list = (pool: string[], name: string) => field(name === 'serviceCidrs' ? poolList(pool) : listOrAny(pool), cidrListInvalid, required(name));
  const ruleList = (entry: fc.Arbitrary<YamlValue>) => fc.oneof(
    { weight: 8, arbitrary: fc.array(entry, { minLength: 1, maxLength: 4 }).map(uniqueIds) },
    { weight: mood === 'plausible' ? 0 : 1, arbitrary: fc.oneof(anyValue, entry, fc.constant<YamlValue>([])) },
  );
  return fc.record({
    podCidrs: list(POOLS.pod, 'podCidrs'),
    serviceCidrs: list(POOLS.service, 'serviceCidrs'),
    clusterDnsIp: field(fc.constantFrom('10.96.0.10', '10.97.0.10', 'fd00:96::a'), fc.oneof(anyCidr, anyValue), required('clusterDnsIp')),
    upstreamResolvers: list(POOLS.resolver, 'upstreamResolvers'),
    nodeCidrs: list(POOLS.node, 'nodeCidrs'),
    nodeLocalDnsIp: field(fc.constantFrom('169.254.20.10', '169.254.20.11', 'fd00:53::a'), fc.oneof(anyCidr, anyValue), w),
    customResolvers: field(listOrAny(POOLS.custom), cidrListInvalid, w),
    exemptions: field(ruleList(exemption(mood)), ruleList(exemption('mixed')), { ...w, valid: w.valid * 2 }),
    infrastructure: field(ruleList(infrastructure(mood)), ruleList(infrastructure('mixed')), w),
    namespace: field(namespaceValid, namespaceInvalid, w),
    createNamespace: field(fc.boolean(), fc.constantFrom<YamlValue>('false', 0, null), w),
    allowAnyAddress: field(fc.boolean(), fc.constantFrom<YamlValue>('true', 1, null), w),
    // no longer a field (the example moved to examples/): any value must get a clean error
    compartmentExample: field(fc.constant(ABSENT), fc.constantFrom<YamlValue>(true, false, 'no', 0, null), { ...w, absent: w.absent * 2 }),
    nodeOs: field(nodeOsValid, nodeOsInvalid, w),
    name: field(nameValid, nameInvalid, w),
    linuxImage: field(imageValid, imageInvalid, w),
    windowsImage: field(imageValid, imageInvalid, w),
    iptablesMode: field(fc.constantFrom('auto', 'legacy', 'nft'), fc.constantFrom<YamlValue>('Auto', 'nf_tables', '', null, 1), w),
    linuxBackend: field(fc.constantFrom('iptables', 'nftables'), fc.constantFrom<YamlValue>('nft', 'ebpf', 'IPTABLES', null), w),
    reapplyIntervalSeconds: field(fc.oneof(fc.integer({ min: 10, max: 86400 }), fc.constantFrom(10, 86400)),
      fc.constantFrom<YamlValue>(-5, 0, 9, 86401, 1.5, '300', NaN, Infinity, 1e300, null, '5m', 2 ** 31), w),
    mode: field(fc.constantFrom('enforce', 'audit', 'audit', 'remove'), fc.constantFrom<YamlValue>('Enforce', 'off', 'dry-run', '', null, 1, ['audit']), w),
    driftCheckIntervalSeconds: field(fc.oneof(fc.integer({ min: 1, max: 3600 }), fc.constantFrom(1, 3600)),
      fc.constantFrom<YamlValue>(0, -1, 3601, 1.5, '10', '10s', NaN, null, 2 ** 53), w),
    maxUnavailable: field(fc.oneof(fc.integer({ min: 1, max: 100_000 }), fc.constantFrom(1, 100_000)),
      fc.constantFrom<YamlValue>(0, -1, 100_001, 1.5, '1', '10%', null, Infinity), w),
    minReadySeconds: field(fc.oneof(fc.integer({ min: 0, max: 3600 }), fc.constantFrom(0, 3600)),
      fc.constantFrom<YamlValue>(-1, 3601, 0.5, '30', null, NaN), w),
    checkImage: field(imageValid, imageInvalid, w),
    apiServer: field(fc.constantFrom('172.19.1.100:6443', '[fd00::1]:6443', 'api.example.com:443', '10.0.0.1:1', 'kubernetes.default.svc:443'),
      fc.constantFrom<YamlValue>('x', ':6443', '10.0.0.1', '10.0.0.1:0', '10.0.0.1:65536', '10.0.0.1:99999', '999.999.999.999:6443', 'https://x:6443',
        'a b:1', '$(reboot):1', '10.0.0.1:6443;reboot', '[fd00::1]', 'fd00::1:6443', 'API.example.com:443', '', null, 6443), w),
    clusterDomain: field(fc.constantFrom('cluster.local', 'k8s.example', 'c', 'a-b.c-d.e'),
      fc.constantFrom<YamlValue>('Cluster.Local', '.local', 'local.', 'a..b', '-a', 'x'.repeat(300), '$(reboot)', 'a b', '', null, ['cluster.local']), w),
    nodeExporterImage: field(imageValid, imageInvalid, w),
    metricsPort: field(fc.oneof(fc.integer({ min: 1, max: 65535 }), fc.constantFrom(1, 9100, 65535)),
      fc.constantFrom<YamlValue>(0, -1, 65536, 1.5, '9100', null, NaN, [9100]), w),
    metricsTextfileDirectory: field(fc.constantFrom('/var/lib/node_exporter/textfile_collector', '/x', '//', '/a/../b', '/run/hostnet-metrics'),
      fc.constantFrom<YamlValue>('relative/dir', '/', '/a b', '/$(reboot)', '/a;reboot', '/a\nb', `/${'a'.repeat(201)}`, 'C:\\metrics', '', null, ['/x']), w),
    grafanaDashboard: field(fc.boolean(), fc.constantFrom<YamlValue>('true', 1, null, 'yes'), w),
  }).map((fields) => (mood === 'plausible' ? withOptIns(fields) : fields)).map(mappingWithout);
}

/** The opt-ins a plausible document needs for what it holds: allowAnyAddress for /0, createNamespace: false for a system namespace. */
function withOptIns(fields: Record<string, YamlValue>): Record<string, YamlValue> {
  const f = { ...fields };
  const lists = ['podCidrs', 'upstreamResolvers', 'nodeCidrs', 'customResolvers'].map((k) => f[k]);
  if (lists.some((l) => Array.isArray(l) && l.some((c) => String(c).endsWith('/0')))) f.allowAnyAddress = true;
  if (SYSTEM_NAMESPACES.includes(f.namespace as string)) f.createNamespace = false;
  return f;
}

/** Rules with the ids of earlier ones made unique, as most users write them. */
function uniqueIds(rules: YamlValue[]): YamlValue {
  const seen = new Set<unknown>();
  return rules.map((rule, i) => {
    const r = rule as Record<string, YamlValue>;
    if (!seen.has(r.id)) {
      seen.add(r.id);
      return rule;
    }
    return { ...r, id: `${String(r.id)}-${i}` };
  });
}

const style: fc.Arbitrary<YamlStyle> = fc.record({
  flowBelowDepth: fc.constantFrom(0, 1, 1, 2, 4),
  quoting: fc.constantFrom('plain', 'plain', 'single', 'double'),
  asciiOnly: fc.boolean(),
  indent: fc.constantFrom(2, 2, 4),
});

/** Unknown keys: typos of real fields, JavaScript's own property names, odd and very long keys. */
const unknownKey = fc.oneof(
  fc.constantFrom('podCidr', 'PodCidrs', 'pod_cidrs', 'reapplyInterval', 'upstreamResolver', 'exemption', 'nodeos', 'image', 'profile', 'apiVersion',
    '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'prototype', '', ' ', 'podCidrs ', '<<', '$(reboot)', 'a\nb', 'ü', '🔥'),
  fc.string({ minLength: 1, maxLength: 20 }),
  longText.map((t) => t.slice(0, 10_000)),
);

/** A mapping of override fields with the extras a hostile file adds, as pairs (keys may repeat). */
function document(profile: FuzzProfile, mood: Mood): fc.Arbitrary<Pairs> {
  return fc.tuple(
    overrides(profile, mood),
    mood === 'plausible' ? fc.constant([]) : fc.array(fc.tuple(unknownKey, anyValue), { maxLength: 2 }),
    fc.boolean(),
  ).map(([fields, extra, reversed]) => {
    const pairs: Array<[string, YamlValue]> = [...Object.entries(fields), ...extra];
    return new Pairs(reversed ? pairs.reverse() : pairs);
  });
}

function text(doc: YamlValue, s: YamlStyle): string {
  return toYamlText(doc, s);
}

// ---------------------------------------------------------------------------------------------
// Hostile YAML: what a config file does not need, each around a plausible document.

type Template = (base: string, doc: Pairs) => fc.Arbitrary<string | Uint8Array>;

const hostileTemplates: Record<string, Template> = {
  'alias-bomb': () => fc.tuple(fc.integer({ min: 2, max: 9 }), fc.integer({ min: 2, max: 10 }), fc.constantFrom('podCidrs', 'x', 'exemptions')).map(([levels, width, key]) => {
    const lines = ['a0: &a0 ["10.0.0.1", "10.0.0.2"]'];
    for (let i = 1; i < levels; i++) lines.push(`a${i}: &a${i} [${Array(width).fill(`*a${i - 1}`).join(', ')}]`);
    lines.push(`${key}: [${Array(width).fill(`*a${levels - 1}`).join(', ')}]`);
    return lines.join('\n') + '\n';
  }),
  'wide-anchor': () => fc.tuple(fc.integer({ min: 100, max: 6000 }), fc.integer({ min: 1, max: 80 })).map(([entries, uses]) =>
    `upstreamResolvers: &r [${range(entries).map((i) => `"192.0.${i >> 8}.${i & 255}"`).join(', ')}]\n` // eslint-disable-line no-bitwise
    + `customResolvers: [${Array(uses).fill('*r').join(', ')}]\n`),
  'circular-alias': (base) => fc.constantFrom('podCidrs: &a [*a]\n', 'exemptions: &e [{id: x, protocol: udp, scopes: [nodeEgress], description: d, sources: *e}]\n',
    'x: &m {a: *m}\n', '&top {podCidrs: *top}\n', `${base}x: &l [1, [2, *l]]\n`, 'nodeCidrs: *later\ny: &later [10.0.0.0/8]\n', `${base}z: *undefinedanchor\n`),
  'valid-aliases': (base, doc) => fc.oneof(fc.tuple(style, fc.constantFrom('customResolvers', 'nodeCidrs')).map(([s, reuse]) => {
    // the document's first list anchored, and reused by an alias where another list belongs
    const i = doc.pairs.findIndex(([, v]) => Array.isArray(v));
    if (i < 0) return base;
    const pairs: Array<[string | Raw, YamlValue]> = doc.pairs.map(([k, v]) => [k, v]);
    pairs[i] = [pairs[i][0], new Anchored('list', pairs[i][1])];
    return text(new Pairs([...pairs.filter(([k]) => k !== reuse), [reuse, new Raw('*list')]]), s);
  }), fc.constantFrom(
    `${base}extra1: &p [10.32.0.0/16]\n`,
    'upstreamResolvers: &r [192.0.2.53]\ncustomResolvers: *r\n',
    'upstreamResolvers: [192.0.2.53]\nexemptions:\n  - &e {id: ntp, protocol: udp, scopes: [nodeEgress], description: NTP}\n  - *e\n',
    'upstreamResolvers: [192.0.2.53]\nexemptions:\n  - {id: ntp, protocol: udp, scopes: &s [nodeEgress], description: NTP}\n  - {id: ntp2, protocol: udp, scopes: *s, description: NTP}\n',
    'upstreamResolvers: [192.0.2.53]\nbase: &b {protocol: udp, scopes: [nodeEgress], description: NTP}\nexemptions:\n  - {<<: *b, id: ntp}\n')),
  'tags': (base) => fc.tuple(fc.constantFrom('name', 'podCidrs', 'reapplyIntervalSeconds', 'exemptions', 'nodeOs', 'x'),
    fc.constantFrom('!!js/function "function () { reboot() }"', '!!js/undefined ""', '!!js/regexp /x/g', '!!python/object/apply:os.system ["reboot"]',
      '!!binary aGVsbG8=', '!!set {linux, windows}', '!!omap [a: 1]', '!!timestamp 2001-12-14', '!!float "300"', '!!int "300"', '!!str 300', '!!str hostnet',
      '!!seq [linux]', '!!map {}', '!!null ""', '!!bool yes', '!custom x', '!<tag:yaml.org,2002:str> x', '!<!> x', '!!merge <<', '! 300', '!e!x y'))
    .map(([key, value]) => `${base}${key}: ${value}\n`),
  'duplicate-keys': (base) => fc.constantFrom(`${base}${base}`, 'name: a\nname: b\n', 'name: a\n"name": b\n', 'exemptions: [{id: a, id: b}]\n',
    '? name\n: a\nname: b\n', 'nodeOs: [linux]\nnodeOs: [windows]\n'),
  'non-text-keys': (base) => fc.constantFrom('? [a, b]\n: c\n', '1: x\n', 'null: x\n', '~: x\n', 'true: x\n', '{a: b}: c\n', '[podCidrs]: [10.0.0.0/8]\n',
    '&k name: x\n*k : y\n', `${base}1.5: x\n`, '? |\n  name\n: x\n', '"": x\n'),
  'prototype-keys': (base) => fc.constantFrom(`${base}__proto__: {podCidrs: [0.0.0.0/0]}\n`, '__proto__: {name: evil}\n',
    'exemptions: [{__proto__: {id: x}, id: a, protocol: udp, scopes: [nodeEgress], description: d}]\n', 'constructor: {prototype: {x: 1}}\n',
    `${base}toString: x\n`, 'hasOwnProperty: 1\n', '"__proto__": []\n'),
  'deep-nesting': () => fc.tuple(fc.constantFrom(10, 62, 63, 64, 65, 66, 200, 5_000, 100_000), fc.constantFrom('flow-seq', 'flow-map', 'block-seq', 'block-map', 'mixed'),
    fc.constantFrom('podCidrs', 'x', 'exemptions')).map(([depth, how, key]) => {
    if (how === 'flow-seq') return `${key}: ${'['.repeat(depth)}1${']'.repeat(depth)}\n`;
    if (how === 'flow-map') return `${key}: ${'{a: '.repeat(depth)}1${'}'.repeat(depth)}\n`;
    if (how === 'mixed') return `${key}: ${'[{a: '.repeat(depth)}1${'}]'.repeat(depth)}\n`;
    const n = Math.min(depth, 5_000); // the text grows with the square of block depth
    if (how === 'block-seq') return `${key}:\n${range(n).map((i) => `${' '.repeat(i * 2)}-`).join('\n')} 1\n`;
    return `${key}:\n${range(n).map((i) => `${' '.repeat((i + 1) * 2)}a:`).join('\n')} 1\n`;
  }),
  'documents': (base) => fc.constantFrom(`---\n${base}---\n${base}`, `${base}---\nname: other\n`, `---\n---\n${base}`, `${base}...\n`, `${base}...\n---\nx: 1\n`,
    '---\n', '...\n', '# only a comment\n', '', '\n\n\n', `%YAML 1.2\n---\n${base}`, `%YAML 1.1\n---\n${base}`, `%YAML 2.0\n---\n${base}`,
    `%TAG ! tag:evil.example,2000:\n---\n${base}`, '--- |\n  text\n', '--- 42\n', '--- [10.0.0.0/8]\n', '--- null\n', '"just a string"\n', '- a\n- b\n'),
  'encodings': (base) => fc.constantFrom<string | Uint8Array>(
    `\ufeff${base}`, base.replace(/\n/g, '\r\n'), base.replace(/\n/g, '\r'), base.replace(/ {2}/g, '\t'),
    Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(base, 'utf16le')]), Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(base, 'utf16le').swap16()]),
    Buffer.concat([Buffer.from(base), Buffer.from('name: "'), Buffer.from([0xc3, 0x28]), Buffer.from('"\n')]),
    Buffer.concat([Buffer.from(`${base}x: `), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('\n')]), `${base}name: "a\u0000b"\n`, `${base}\u0000`,
    `${base}name: \u0085x\n`, `${base}name: a\u2028b\n`, 'name:\u00a0hostnet\n', Buffer.from([0xef, 0xbb, 0xbf, 0xef, 0xbb, 0xbf])),
  'garbage': () => fc.oneof(
    fc.uint8Array({ minLength: 1, maxLength: 3000 }),
    fc.string({ unit: 'binary', maxLength: 500 }),
    fc.array(fc.constantFrom(':', '-', '[', ']', '{', '}', ',', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`', '#', '?', ' ', '\n', '\t', 'a', '1'), { maxLength: 200 }).map((c) => c.join('')),
  ),
  'long-values': (base) => fc.tuple(longText, fc.constantFrom('name', 'namespace', 'linuxImage', 'podCidrs', 'description', 'key', 'id', 'comment', 'port', 'anchor'))
    .map(([long, where]) => {
      const q = JSON.stringify(long).replace(/\\u2028|\u2028/g, '\\u2028');
      if (where === 'podCidrs') return `${base}podCidrs: [${q}]\n`;
      if (where === 'description') return `${base}exemptions: [{id: a, protocol: udp, scopes: [nodeEgress], description: ${q}}]\n`;
      if (where === 'id') return `exemptions: [{id: ${q}, protocol: udp, scopes: [nodeEgress], description: d}]\n`;
      if (where === 'port') return `exemptions: [{id: a, protocol: udp, scopes: [nodeEgress], description: d, destinationPorts: [${q}]}]\n`;
      if (where === 'key') return `${base}${q}: 1\n`;
      if (where === 'comment') return `${base}# ${long.replace(/\n/g, ' ')}\n`;
      if (where === 'anchor') return `${base}x: &${'a'.repeat(long.length)} 1\n`;
      return `${base}${where}: ${q}\n`;
    }),
  'huge-lists': (_base, doc) => fc.tuple(hugeCidrList, fc.constantFrom('destinations', 'podCidrs', 'customResolvers', 'ports')).map(([list, where]) => {
    const flowList = text(list, { flowBelowDepth: 0, quoting: 'plain', asciiOnly: true, indent: 2 }).trim();
    const rest = doc.pairs.filter(([k]) => k !== 'podCidrs' && k !== 'customResolvers' && k !== 'exemptions');
    const baseRest = text(new Pairs(rest), { flowBelowDepth: 1, quoting: 'plain', asciiOnly: false, indent: 2 });
    const prefix = rest.length > 0 ? baseRest : '';
    if (where === 'destinations') return `${prefix}exemptions: [{id: syslog, protocol: udp, scopes: [nodeEgress, podForward], destinationPorts: [514], description: syslog, destinations: ${flowList}}]\n`;
    if (where === 'ports') {
      const count = (list as YamlValue[]).length;
      return `${prefix}exemptions: [{id: many-ports, protocol: udp, scopes: [nodeEgress], description: ports, destinationPorts: [${range(count).map((i) => 1024 + i * 7).join(', ')}]}]\n`;
    }
    return `${prefix}${where}: ${flowList}\n`;
  }),
  'oversized-file': () => fc.constantFrom(8 * 1024 * 1024 + 1, 9 * 1024 * 1024).map((size) => `name: "${'a'.repeat(size)}"\n`),
  'directives-and-odd-syntax': (base) => fc.constantFrom(`${base}name: >\n  folded\n  text\n`, `${base}name: |-\n  hostnet\n`, 'name: \'unterminated\n',
    'name: "unterminated\n', 'podCidrs: [10.0.0.0/8\n', 'podCidrs: 10.0.0.0/8]\n', `${base}  badindent: 1\n`, 'exemptions:\n- id: a\n  protocol: udp\n - x\n',
    `${base}name: hostnet # comment $(reboot)\n`, 'name: hostnet\tx\n', ': novalue\n', 'name:\n', 'name: [\n]\n', '? \n', '- - - -\n', '&a\n', '*a\n',
    `${base}@reserved: 1\n`, '`name`: x\n', 'name: @x\n', 'name: `x`\n', '%\n', 'name: {{ .Values.name }}\n', '{{ name }}\n'),
};

/** Byte-level damage to a plausible document's text: inserted fragments, cut ranges, repeated lines. */
const mutation = (base: string) => fc.array(fc.tuple(fc.nat(), fc.constantFrom('insert', 'delete', 'repeat-line', 'swap-char'),
  fc.oneof(fc.constantFrom(...SHELL_AND_PS_FRAGMENTS, ...UNICODE_FRAGMENTS, ':', '- ', '[', ']', '{', '}', '"', '\'', '\n', '  ', '&a ', '*a', '!!', '#', '---\n')),
  fc.nat({ max: 20 })), { minLength: 1, maxLength: 4 }).map((edits) => {
  let t = base;
  for (const [at, op, fragment, length] of edits) {
    const p = t.length === 0 ? 0 : at % (t.length + 1);
    if (op === 'insert') {t = t.slice(0, p) + fragment + t.slice(p);} else if (op === 'delete') {t = t.slice(0, p) + t.slice(p + length);} else if (op === 'swap-char') {t = t.slice(0, p) + fragment.charAt(0) + t.slice(p + 1);} else {
      const lines = t.split('\n');
      const i = lines.length === 0 ? 0 : at % lines.length;
      lines.splice(i, 0, lines[i]);
      t = lines.join('\n');
    }
  }
  return t;
});

// ---------------------------------------------------------------------------------------------
// Cases

const TEMPLATE_WEIGHTS: Record<keyof typeof hostileTemplates, number> = {
  'alias-bomb': 3,
  'wide-anchor': 2,
  'circular-alias': 2,
  'valid-aliases': 3,
  'tags': 4,
  'duplicate-keys': 2,
  'non-text-keys': 2,
  'prototype-keys': 3,
  'deep-nesting': 3,
  'documents': 3,
  'encodings': 4,
  'garbage': 4,
  'long-values': 3,
  'huge-lists': 2,
  'oversized-file': 0.3,
  'directives-and-odd-syntax': 3,
};

/**
 * Every kind of case: plausible documents (30%: most of them reach the renderers), documents with
 * wrong values (35%), damaged text (10%), hostile YAML around a plausible document (25%).
 */
export function fuzzCase(): fc.Arbitrary<FuzzCase> {
  return fc.constantFrom(...FUZZ_PROFILES).chain((profile) => {
    const plausible = fc.tuple(document(profile, 'plausible'), style);
    const structured = (mood: Mood) => fc.tuple(document(profile, mood), style).map(([doc, s]) => ({ profile, kind: mood, content: text(doc, s) }));
    const mutated = plausible.chain(([doc, s]) => mutation(text(doc, s))).map((content) => ({ profile, kind: 'mutated', content }));
    const hostile = fc.oneof(...Object.entries(hostileTemplates).map(([kind, template]) => ({
      weight: Math.max(1, Math.round(TEMPLATE_WEIGHTS[kind] * 10)),
      arbitrary: plausible.chain(([doc, s]) => template(text(doc, s), doc)).map((content) => ({ profile, kind, content })),
    })));
    return fc.oneof(
      { weight: 30, arbitrary: structured('plausible') },
      { weight: 35, arbitrary: structured('mixed') },
      { weight: 10, arbitrary: mutated },
      { weight: 25, arbitrary: hostile },
    );
  });
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
