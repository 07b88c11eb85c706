/* eslint-disable no-bitwise */ // address arithmetic
// diffPolicies on random pairs of policies: every flow sampled inside a reported region changes
// verdict (as the region says), and flows outside every region keep theirs; verdicts come from
// explainFlow, whose equality with the engines the differential tests prove. Regions are read back
// from their text, so the test also checks what users read.
import fc from 'fast-check';
import { benchProfile, randomFirewall, randomFlows, randomRule, Synthesized, TestFlow } from './random-policy';
import { DiffRegion, diffPolicies } from '../../src/explain/diff-policies';
import { Verdict, explainFlow } from '../../src/explain/explain-flow';
import { HostPolicy } from '../../src/explain/host-policy';
import { Family, formatAddress, maxAddress, mustParseCidr } from '../../src/policy/cidr';
import { FirewallMode } from '../../src/policy/firewall-mode';
import { NodeOs } from '../../src/policy/node-os';
import { Protocol, RuleAction, TrafficScope } from '../../src/policy/protocol';
import { PROFILE_NAMES } from '../util/synth';

interface Range { readonly from: bigint; readonly to: bigint }

/** A region's address list as ranges (test-side reading of `any`, `any-except`, CIDRs and `a-b`). */
function addressRanges(family: Family, list: string[]): Range[] {
  const one = (text: string): Range => {
    if (text.includes('-')) {
      const [a, b] = text.split('-').map((x) => mustParseCidr(x).first);
      return { from: a, to: b };
    }
    const c = mustParseCidr(text);
    return { from: c.first, to: c.last };
  };
  if (list[0] === 'any') return [{ from: 0n, to: maxAddress(family) }];
  if (list[0] !== 'any-except') return list.map(one);
  const gaps = list.slice(1).map(one).sort((a, b) => (a.from < b.from ? -1 : 1));
  const ranges: Range[] = [];
  let next = 0n;
  for (const g of gaps) {
    if (g.from > next) ranges.push({ from: next, to: g.from - 1n });
    next = g.to + 1n;
  }
  if (next <= maxAddress(family)) ranges.push({ from: next, to: maxAddress(family) });
  return ranges;
}

function portRanges(list: string[] | undefined): Range[] {
  if (!list || list[0] === 'any') return [{ from: 1n, to: 65535n }];
  return list.map((t) => {
    const [a, b] = t.split('-').map(BigInt);
    return { from: a, to: b ?? a };
  });
}

const inside = (ranges: Range[], v: bigint) => ranges.some((r) => r.from <= v && v <= r.to);
const formatFamily = formatAddress;

interface ParsedRegion {
  readonly region: DiffRegion;
  readonly dims: Range[][];
}

function parseRegion(region: DiffRegion): ParsedRegion {
  const family = region.family as Family;
  const dims = [addressRanges(family, region.sources), addressRanges(family, region.destinations)];
  if (region.protocol !== Protocol.ICMP) dims.push(portRanges(region.sourcePorts), portRanges(region.destinationPorts));
  return { region, dims };
}

function flowIn(p: ParsedRegion, point: bigint[]): TestFlow {
  const family = p.region.family as Family;
  const ports = p.region.protocol !== Protocol.ICMP;
  return {
    scope: p.region.scope,
    protocol: p.region.protocol,
    source: formatFamily(family, point[0]),
    destination: formatFamily(family, point[1]),
    sourcePort: ports ? Number(point[2]) : undefined,
    destinationPort: ports ? Number(point[3]) : undefined,
  };
}

function holds(p: ParsedRegion, f: TestFlow, nodeOs: NodeOs): boolean {
  const family: Family = f.source.includes(':') ? 'ipv6' : 'ipv4';
  if (p.region.nodeOs !== nodeOs || p.region.scope !== f.scope || p.region.protocol !== f.protocol || p.region.family !== family) return false;
  const values = [mustParseCidr(f.source).first, mustParseCidr(f.destination).first];
  if (f.protocol !== Protocol.ICMP) values.push(BigInt(f.sourcePort!), BigInt(f.destinationPort!));
  return values.every((v, d) => inside(p.dims[d], v));
}

const stats = { pairs: 0, regions: 0, inside: 0, outside: 0, outsideInRegion: 0 };

/** Every check of one pair; problems as text. */
function checkPair(old: Synthesized, next: Synthesized, seed: number): string[] {
  const oldDocs = [old.linux, old.windows];
  const newDocs = [next.linux, next.windows];
  const regions = diffPolicies(oldDocs, newDocs).map(parseRegion);
  stats.pairs++;
  stats.regions += regions.length;
  const problems: string[] = [];
  const docOf = (docs: HostPolicy[], os: NodeOs) => docs.find((d) => d.nodeOs === os)!;
  const rng = fc.sample(fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), { seed, numRuns: regions.length * 5 * 8 + 1 });
  let k = 0;
  const pick = (ranges: Range[]) => {
    const r = ranges[Number(rng[k++] % BigInt(ranges.length))];
    return r.from + (rng[k++] % (r.to - r.from + 1n));
  };
  for (const p of regions) {
    for (let i = 0; i < 5 && k + 8 < rng.length; i++) {
      const flow = flowIn(p, p.dims.map(pick));
      const before = explainFlow(docOf(oldDocs, p.region.nodeOs), flow).verdict;
      const after = explainFlow(docOf(newDocs, p.region.nodeOs), flow).verdict;
      stats.inside++;
      if (before !== p.region.before || after !== p.region.after) {
        problems.push(`seed ${seed}: ${JSON.stringify(flow)} in region ${JSON.stringify(p.region)} went ${before} -> ${after}`);
      }
    }
  }
  for (const os of [NodeOs.LINUX, NodeOs.WINDOWS]) {
    const flows = randomFlows([docOf(oldDocs, os), docOf(newDocs, os)], seed, 300, { protocols: [Protocol.UDP, Protocol.TCP, Protocol.ICMP] });
    for (const flow of flows) {
      const before = explainFlow(docOf(oldDocs, os), flow).verdict;
      const after = explainFlow(docOf(newDocs, os), flow).verdict;
      const region = regions.find((p) => holds(p, flow, os));
      if (region) {
        stats.outsideInRegion++;
        if (before !== region.region.before || after !== region.region.after) problems.push(`seed ${seed}: ${os} ${JSON.stringify(flow)} in a region went ${before} -> ${after}`);
      } else {
        stats.outside++;
        if (before !== after) problems.push(`seed ${seed}: ${os} ${JSON.stringify(flow)} is in no region but went ${before} -> ${after}`);
      }
    }
  }
  return problems;
}

describe('diffPolicies', () => {
  afterAll(() => console.log(`diff property: ${stats.pairs} pairs, ${stats.regions} regions, ${stats.inside} flows sampled inside regions, `
    + `${stats.outside} flows outside every region, ${stats.outsideInRegion} edge flows that fell inside one`));

  test('random pairs of policies: inside a region the verdict changes as reported, outside it does not', () => {
    const problems: string[] = [];
    for (let seed = 1; seed <= 25; seed++) {
      const profile = benchProfile(PROFILE_NAMES[seed % PROFILE_NAMES.length]);
      problems.push(...checkPair(randomFirewall(seed, profile), randomFirewall(seed + 1000, profile), seed));
    }
    expect(problems.slice(0, 10)).toEqual([]);
  });

  test('a policy and itself with one rule more or less: regions only where that rule decides', () => {
    const problems: string[] = [];
    for (let seed = 1; seed <= 25; seed++) {
      const profile = benchProfile(PROFILE_NAMES[seed % PROFILE_NAMES.length]);
      const base = randomFirewall(seed, profile);
      const changed = randomFirewall(seed, profile, undefined, (rules) => (seed % 2 === 0 ? rules.slice(1) : [...rules, { id: 'extra', props: randomRule(seed + 500) }]));
      problems.push(...checkPair(base, changed, seed));
    }
    expect(problems.slice(0, 10)).toEqual([]);
  });

  test('the same policy: no region; a firewall only on one side: compared with no firewall', () => {
    const fw = randomFirewall(3, benchProfile('k2s'));
    expect(diffPolicies([fw.linux, fw.windows], [fw.linux, fw.windows])).toEqual([]);
    // GIVEN the default policy, which denies udp, on Linux only after the change
    const regions = diffPolicies([], [fw.linux]);
    // THEN udp that was free is now denied somewhere, and nothing is newly allowed
    expect(regions.length).toBeGreaterThan(0);
    expect(regions.every((r) => r.before === Verdict.ALLOW && r.after === Verdict.DENY && r.nodeOs === NodeOs.LINUX)).toBe(true);
  });

  test('enforce to audit: everything denied before is allowed after, nothing else', () => {
    const fw = randomFirewall(4, benchProfile('k2s'));
    const audit: HostPolicy = { ...fw.linux, mode: FirewallMode.AUDIT };
    const regions = diffPolicies([fw.linux], [audit]);
    expect(regions.length).toBeGreaterThan(0);
    expect(regions.every((r) => r.before === Verdict.DENY && r.after === Verdict.ALLOW)).toBe(true);
    // udp to a port no rule opens, from and to addresses no rule names, flips
    expect(regions.some((r) => r.protocol === Protocol.UDP && r.scope === TrafficScope.POD_FORWARD)).toBe(true);
  });

  test('a hand-made change gives exactly the expected region', () => {
    // GIVEN a policy that denies udp by default, then one that also allows udp 123 to 192.0.2.123
    const base: HostPolicy = { ...randomFirewall(1, benchProfile('generic')).linux, rules: [], udp: RuleAction.DENY, tcp: RuleAction.ALLOW, untrackedDns: [] };
    const ntp: HostPolicy = {
      ...base,
      rules: [{
        id: 'ntp',
        origin: 'user' as any,
        action: RuleAction.ALLOW,
        protocol: Protocol.UDP,
        scope: TrafficScope.NODE_EGRESS,
        family: 'ipv4',
        destinations: ['192.0.2.123/32'],
        destinationPorts: ['123'],
        description: 'NTP',
      }],
    };
    // THEN one region: from any address but loopback (which never reaches the rules), to it, on port 123
    expect(diffPolicies([base], [ntp])).toEqual([{
      firewall: base.firewall,
      nodeOs: NodeOs.LINUX,
      scope: TrafficScope.NODE_EGRESS,
      protocol: Protocol.UDP,
      family: 'ipv4',
      sources: ['any-except', '127.0.0.0/8'],
      destinations: ['192.0.2.123'],
      sourcePorts: ['any'],
      destinationPorts: ['123'],
      before: Verdict.DENY,
      after: Verdict.ALLOW,
    }]);
  });

  test('fast on realistic policies: 300 rules against 300 others', () => {
    const big = (seed: number) => randomFirewall(seed, benchProfile('k2s'), undefined, () =>
      Array.from({ length: 300 }, (_, i) => ({
        id: `b${i}`,
        props: {
          ...randomRule(seed * 1000 + i),
          action: RuleAction.ALLOW,
          protocol: Protocol.UDP,
          overrideFailsafe: undefined,
          sourcePorts: undefined,
        },
      })));
    const a = big(1);
    const b = big(2);
    const started = Date.now();
    const regions = diffPolicies([a.linux, a.windows], [b.linux, b.windows]);
    const ms = Date.now() - started;
    console.log(`diff of ${a.linux.rules.length} against ${b.linux.rules.length} rule lines per OS: ${regions.length} regions in ${ms} ms`);
    expect(regions.length).toBeGreaterThan(0);
    expect(ms).toBeLessThan(10_000);
  });
});
