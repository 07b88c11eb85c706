/* eslint-disable no-bitwise */ // address arithmetic
import fc from 'fast-check';
import { decide, Flow, readRules, ruleMatches } from './firewall-evaluator';
import { denyUdpWith, exemption } from './fixtures';
import { Box, boxContains, complementOfUnion, Interval, normalise, smallestComplement, subtract } from '../../src/dialects/windows-complement';
import { renderWindowsFirewall } from '../../src/dialects/windows-firewall';
import { formatInterval, MAX_LIST_ENTRIES } from '../../src/dialects/windows-rules';
import { Family, formatAddress, maxAddress, mustParseCidr } from '../../src/policy/cidr';
import { CompiledRule } from '../../src/policy/compiled-policy';
import { PortRange } from '../../src/policy/port-range';
import { TrafficScope } from '../../src/policy/protocol';

const iv = (from: number | bigint, to: number | bigint = from): Interval => ({ from: BigInt(from), to: BigInt(to) });
const text = (set: readonly Interval[]) => set.map((i) => (i.from === i.to ? `${i.from}` : `${i.from}-${i.to}`)).join(',');
const PORTS = iv(0, 65535);

describe('interval sets', () => {
  test('normalise sorts, merges overlapping and adjacent intervals, drops inverted ones', () => {
    expect(text(normalise([iv(10, 20), iv(1, 3), iv(4, 6), iv(15, 25), iv(9, 8)]))).toBe('1-6,10-25');
  });

  test('subtract leaves the gaps', () => {
    expect(text(subtract(PORTS, [iv(53)]))).toBe('0-52,54-65535');
    expect(text(subtract(PORTS, [iv(0, 100), iv(65535)]))).toBe('101-65534');
    expect(subtract(PORTS, [PORTS])).toEqual([]);
  });
});

describe('complementOfUnion', () => {
  test('one port: everything else', () => {
    expect(complementOfUnion([[[iv(53)]]], [PORTS]).map((b) => text(b[0]))).toEqual(['0-52,54-65535']);
  });

  test('no exemptions: one box over the whole universe; full cover: no box', () => {
    expect(complementOfUnion([], [iv(0, 9), PORTS])).toEqual([[[iv(0, 9)], [PORTS]]]);
    expect(complementOfUnion([[[iv(0, 9)], [PORTS]]], [iv(0, 9), PORTS])).toEqual([]);
  });

  test('many addresses on one port: two boxes, whatever the number of addresses', () => {
    // GIVEN 1,000 single addresses, every other one, all exempting port 53
    const boxes: Box[] = Array.from({ length: 1000 }, (_, i) => [[iv(2 * i)], [iv(53)]]);
    // WHEN
    const result = complementOfUnion(boxes, [iv(0, 4095), PORTS]);
    // THEN (the addresses × every port but 53) and (the 1,000 gaps between them × every port)
    expect(result).toHaveLength(2);
    expect(result.map((b) => [b[0].length, text(b[1])])).toEqual([[1000, '0-52,54-65535'], [1000, '0-65535']]);
  });

  test('sweeping ports first can be smaller, and smallestComplement finds it', () => {
    // two exemptions that share an address set but not a port set
    const boxes: Box[] = [[[iv(10, 19)], [iv(53)]], [[iv(10, 19)], [iv(67)]], [[iv(30, 39)], [iv(53)]]];
    const universe = [iv(0, 99), PORTS];
    const byAddress = complementOfUnion(boxes, universe, [0, 1]);
    const byPort = complementOfUnion(boxes, universe, [1, 0]);
    const best = smallestComplement(boxes, universe, [[0, 1], [1, 0]]);
    expect(Math.min(byAddress.length, byPort.length)).toBe(best.length);
    expect(byPort.map((b) => `${text(b[0])} x ${text(b[1])}`)).toEqual([
      '0-99 x 0-52,54-66,68-65535',
      '0-9,20-29,40-99 x 53',
      '0-9,20-99 x 67',
    ]);
  });

  test('refuses an order that is not a permutation', () => {
    expect(() => complementOfUnion([], [PORTS, PORTS], [0, 0])).toThrow(/not a permutation/);
  });

  // Exhaustive check on small universes: a point is in the complement iff no box holds it.
  const intervalIn = (size: number) => fc.tuple(fc.nat(size - 1), fc.nat(size - 1)).map(([a, b]) => iv(Math.min(a, b), Math.max(a, b)));
  const boxIn = (dims: number, size: number) =>
    fc.array(fc.array(intervalIn(size), { minLength: 1, maxLength: 3 }), { minLength: dims, maxLength: dims });
  const points = (dims: number, size: number): bigint[][] => {
    if (dims === 0) return [[]];
    return points(dims - 1, size).flatMap((p) => Array.from({ length: size }, (_, v) => [...p, BigInt(v)]));
  };

  test.each([[1, 64], [2, 24], [3, 10], [4, 6]])('property: exact complement in %i dimensions of %i values each', (dims, size) => {
    const universe = Array.from({ length: dims }, () => iv(0, size - 1));
    const all = points(dims, size);
    const orders = [universe.map((_, d) => d), universe.map((_, d) => dims - 1 - d)];
    fc.assert(fc.property(fc.array(boxIn(dims, size), { maxLength: 8 }), fc.constantFrom(...orders), (boxes, order) => {
      const complement = complementOfUnion(boxes, universe, order);
      for (const point of all) {
        const exempt = boxes.some((b) => boxContains(b, point));
        const blocked = complement.some((b) => boxContains(b, point));
        if (exempt === blocked) return false;
      }
      // every set comes back normalised and non-empty
      return complement.every((b) => b.every((set) => set.length > 0 && text(normalise(set)) === text(set)));
    }), { numRuns: 150 });
  });
});

describe('formatInterval (Windows address notation)', () => {
  const v4 = (a: string, b: string) => formatInterval('ipv4', { from: mustParseCidr(a).first, to: mustParseCidr(b).first });
  test.each([
    ['10.0.0.1', '10.0.0.1', '10.0.0.1'],
    ['10.0.0.0', '10.255.255.255', '10.0.0.0/8'],
    ['10.0.0.0', '10.0.0.2', '10.0.0.0-10.0.0.2'],
    ['10.0.0.1', '10.0.0.2', '10.0.0.1-10.0.0.2'],
    ['0.0.0.0', '255.255.255.255', '0.0.0.0-255.255.255.255'],
  ])('%s to %s is %s', (a, b, expected) => {
    expect(v4(a, b)).toBe(expected);
  });

  test('IPv6', () => {
    const fe80 = mustParseCidr('fe80::/10');
    expect(formatInterval('ipv6', { from: fe80.first, to: fe80.last })).toBe('fe80::/10');
    expect(formatInterval('ipv6', { from: 0n, to: fe80.first - 1n })).toBe('::-fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff');
  });
});

// ---- the rendered Block rules, read back from apply.ps1 by the evaluator ----

interface Exemption {
  readonly scope: TrafficScope.NODE_INGRESS | TrafficScope.NODE_EGRESS;
  readonly family: Family;
  readonly cidrs: string[];
  readonly ports?: [number, number][];
}

/** A random CIDR near a few hot spots, so that exemptions overlap, nest and touch. */
const cidrArb = (family: Family) => {
  const bits = family === 'ipv4' ? 32 : 128;
  const bases = family === 'ipv4' ? ['10.0.0.0', '10.0.128.0', '172.19.1.0', '0.0.0.0', '255.255.255.0'] : ['fd00::', 'fe80::', 'ff02::1:0', '::'];
  return fc.tuple(fc.constantFrom(...bases), fc.integer({ min: bits - 24, max: bits }), fc.bigInt({ min: 0n, max: (1n << 24n) - 1n }))
    .map(([base, prefix, offset]) => {
      const host = BigInt(bits - prefix);
      const address = (((mustParseCidr(base).first + offset) & maxAddress(family)) >> host) << host;
      return `${formatAddress(family, address)}/${prefix}`;
    });
};
const portsArb = fc.option(fc.array(fc.tuple(fc.constantFrom(0, 1, 52, 53, 54, 67, 68, 546, 547, 5353, 65534, 65535), fc.nat(3))
  .map(([p, w]): [number, number] => [Math.max(1, p), Math.min(65535, Math.max(1, p) + w)]), { minLength: 1, maxLength: 2 }), { nil: undefined });
const exemptionArb: fc.Arbitrary<Exemption> = fc.record({
  scope: fc.constantFrom(TrafficScope.NODE_INGRESS as const, TrafficScope.NODE_EGRESS as const),
  family: fc.constantFrom<Family>('ipv4', 'ipv6'),
}).chain(({ scope, family }) => fc.record({
  scope: fc.constant(scope),
  family: fc.constant(family),
  cidrs: fc.array(cidrArb(family), { minLength: 1, maxLength: 3 }),
  ports: portsArb,
}));

function compiled(exemptions: Exemption[]): CompiledRule[] {
  return exemptions.map((e, i) => exemption(`e${i}`, e.scope, e.cidrs, e.ports?.map(([a, b]) => PortRange.range(a, b))));
}

/** Addresses and ports on and around every edge of the exemptions, plus a few anywhere. */
function probeFlows(exemptions: Exemption[], extra: { address: bigint; family: Family; port: number }[]): Flow[] {
  const flows: Flow[] = [];
  // the policy's port space is 1-65535 (0 is not a port a rule can name)
  const edgePorts = [1, 65535, ...exemptions.flatMap((e) => (e.ports ?? []).flatMap(([a, b]) => [a - 1, a, b, b + 1]))]
    .filter((p) => p >= 1 && p <= 65535);
  for (const e of exemptions) {
    for (const c of e.cidrs.map(mustParseCidr)) {
      for (const address of [c.first - 1n, c.first, c.last, c.last + 1n].filter((a) => a >= 0n && a <= maxAddress(e.family))) {
        for (const port of [...new Set(edgePorts)].slice(0, 12)) {
          for (const direction of ['Inbound', 'Outbound'] as const) {
            flows.push(flow(direction, formatAddress(e.family, address), port));
          }
        }
      }
    }
  }
  for (const x of extra) flows.push(flow('Outbound', formatAddress(x.family, x.address), x.port), flow('Inbound', formatAddress(x.family, x.address), x.port));
  return flows;
}

/** The port the policy looks at is the destination port: remote outbound, local inbound. */
function flow(direction: 'Inbound' | 'Outbound', address: string, port: number): Flow {
  return direction === 'Inbound'
    ? { direction, protocol: 'UDP', remoteAddress: address, remotePort: 40000, localPort: port }
    : { direction, protocol: 'UDP', remoteAddress: address, remotePort: port, localPort: 40000 };
}

const parsedCidrs = new WeakMap<Exemption, ReturnType<typeof mustParseCidr>[]>();

function exempted(exemptions: Exemption[], f: Flow): boolean {
  const port = f.direction === 'Inbound' ? f.localPort : f.remotePort;
  const scope = f.direction === 'Inbound' ? TrafficScope.NODE_INGRESS : TrafficScope.NODE_EGRESS;
  const address = mustParseCidr(f.remoteAddress);
  return exemptions.some((e) => {
    if (e.scope !== scope || e.family !== address.family) return false;
    if (e.ports && !e.ports.some(([a, b]) => a <= port && port <= b)) return false;
    let cidrs = parsedCidrs.get(e);
    if (!cidrs) parsedCidrs.set(e, cidrs = e.cidrs.map(mustParseCidr));
    return cidrs.some((c) => c.first <= address.first && address.first <= c.last);
  });
}

describe('rendered Block rules over the complement', () => {
  test('property: a flow is blocked by the rendered rules iff no exemption covers it', async () => {
    const extraArb = fc.array(fc.record({
      family: fc.constantFrom<Family>('ipv4', 'ipv6'),
      address: fc.bigInt({ min: 0n, max: maxAddress('ipv4') }),
      port: fc.integer({ min: 1, max: 65535 }),
    }), { maxLength: 10 });
    await fc.assert(fc.asyncProperty(fc.array(exemptionArb, { maxLength: 12 }), extraArb, async (exemptions, extra) => {
      const rules = await readRules(renderWindowsFirewall(denyUdpWith(compiled(exemptions)), 'prop').apply);
      expect(rules.every((r) => r.action === 'Block')).toBe(true);
      for (const f of probeFlows(exemptions, extra)) {
        const blocked = rules.some((r) => ruleMatches(r, f));
        if (blocked === exempted(exemptions, f)) {
          throw new Error(`${f.direction} udp ${f.remoteAddress} port ${f.direction === 'Inbound' ? f.localPort : f.remotePort}: blocked=${blocked}`);
        }
        // outbound, where the default allows, the verdict is exactly "exempted or not"
        if (f.direction === 'Outbound') expect(decide(rules, f).allowed).toBe(!blocked);
      }
      // TCP is never touched
      expect(rules.some((r) => ruleMatches(r, { ...flow('Outbound', '10.0.0.1', 53), protocol: 'TCP' }))).toBe(false);
    }), { numRuns: 60 });
  });

  // 1,000 exempted CIDRs, mixed IPv4/IPv6 and outbound/inbound, in several port patterns
  const anywhere = (family: Family) => {
    const bits = family === 'ipv4' ? 32 : 128;
    return fc.tuple(fc.integer({ min: bits / 2, max: bits }), fc.bigInt({ min: 0n, max: maxAddress(family) }))
      .map(([prefix, address]) => `${formatAddress(family, (address >> BigInt(bits - prefix)) << BigInt(bits - prefix))}/${prefix}`);
  };
  const scenarios: [string, number, (f: Family) => fc.Arbitrary<string>, fc.Arbitrary<[number, number][] | undefined>][] = [
    // DNS to 1,000 resolvers: two boxes per family and direction, paired across families
    ['clustered CIDRs, all on udp/53', 8, cidrArb, fc.constant<[number, number][]>([[53, 53]])],
    // scattered CIDRs: the same, with address lists split at MAX_LIST_ENTRIES
    ['scattered CIDRs, all on udp/53', 12, anywhere, fc.constant<[number, number][]>([[53, 53]])],
    // a pool of 3 port sets: at most 2^3 distinct port complements per family and direction
    ['clustered CIDRs, ports from a pool of 3', 40, cidrArb, fc.constantFrom<[number, number][]>([[53, 53]], [[123, 123]], [[5353, 5353], [67, 68]])],
    ['scattered CIDRs, ports from a pool of 3', 40, anywhere, fc.constantFrom<[number, number][]>([[53, 53]], [[123, 123]], [[5353, 5353], [67, 68]])],
    // every exemption its own port: nothing shared to exploit, at most about one rule per exemption
    ['scattered CIDRs, each its own port', 1010, anywhere, fc.integer({ min: 1, max: 65535 }).map((p): [number, number][] => [[p, p]])],
  ];
  test.each(scenarios)('1,000 exempted %s: exact, at most %i rules', async (_name, bound, cidrs, ports) => {
    const thousand = fc.array(fc.record({
      scope: fc.constantFrom(TrafficScope.NODE_INGRESS as const, TrafficScope.NODE_EGRESS as const),
      family: fc.constantFrom<Family>('ipv4', 'ipv6'),
    }).chain(({ scope, family }) => fc.record({
      scope: fc.constant(scope),
      family: fc.constant(family),
      cidrs: cidrs(family).map((c) => [c]),
      ports,
    })), { minLength: 1000, maxLength: 1000 });
    let most = 0;
    for (const [seed, exemptions] of fc.sample(thousand, { numRuns: 4, seed: 42 }).entries()) {
      const script = renderWindowsFirewall(denyUdpWith(compiled(exemptions)), `big${seed}`).apply;
      const rules = await readRules(script);
      most = Math.max(most, rules.length);
      const lists = rules.flatMap((r) => [r.remoteAddress, r.localAddress, r.remotePort, r.localPort]);
      expect(lists.every((l) => (l ?? []).length <= MAX_LIST_ENTRIES)).toBe(true);
      const sampled = probeFlows(exemptions.slice(0, 40), []);
      for (const f of sampled) expect(rules.some((r) => ruleMatches(r, f))).toBe(!exempted(exemptions, f));
    }
    if (process.env.HOSTNET_REPORT) process.stdout.write(`${_name}: at most ${most} rules\n`);
    expect(most).toBeLessThanOrEqual(bound);
  });
});
