/* eslint-disable no-bitwise */ // address arithmetic
// Seeded random policies and flows for the differential tests of explainFlow and diffPolicies. The
// policies go through the real NodeFirewall (compile checks, failsafes, every dialect); the flows
// sit on and next to every edge the policy mentions (first and last address of each CIDR and the
// ones just outside; each port range's ends and neighbours) plus uniform picks.
import { Testing } from 'cdk8s';
import fc from 'fast-check';
import { LinuxBackend, NodeFirewall } from '../../src/constructs/node-firewall';
import { Flow } from '../../src/explain/explain-flow';
import { HostPolicy } from '../../src/explain/host-policy';
import { policiesFromManifests } from '../../src/explain/policies-from-manifests';
import { Cidr, Family, formatAddress, maxAddress, mustParseCidr } from '../../src/policy/cidr';
import { FirewallPolicy } from '../../src/policy/firewall-policy';
import { FirewallRuleProps } from '../../src/policy/firewall-rule';
import { NodeOs } from '../../src/policy/node-os';
import { PortRange } from '../../src/policy/port-range';
import { Protocol, RuleAction, TrafficScope } from '../../src/policy/protocol';
import { ClusterProfile } from '../../src/profiles/cluster-profile';
import { ClusterProfiles } from '../../src/profiles/cluster-profiles';
import { E2E_OVERRIDES } from '../util/synth';

/** A synthesized firewall: its objects, and the policy.json of each OS. */
export interface Synthesized {
  readonly objects: any[];
  readonly linux: HostPolicy;
  readonly windows: HostPolicy;
}

/** A profile with the e2e network values (198.18.0.0/15) and both node OSs. */
export function benchProfile(name: string): ClusterProfile {
  return { ...ClusterProfiles.byName(name), ...E2E_OVERRIDES, nodeOs: [NodeOs.LINUX, NodeOs.WINDOWS] };
}

/** Synthesizes one NodeFirewall. */
export function synthFirewall(profile: ClusterProfile, policy: FirewallPolicy, backend = LinuxBackend.IPTABLES): Synthesized {
  const chart = Testing.chart();
  new NodeFirewall(chart, 'fw', { profile, policy, linuxBackend: backend });
  const objects = Testing.synth(chart);
  const docs = policiesFromManifests(objects);
  const of = (os: NodeOs) => docs.find((d) => d.nodeOs === os)!;
  return { objects, linux: of(NodeOs.LINUX), windows: of(NodeOs.WINDOWS) };
}

const SCOPES = Object.values(TrafficScope);
// where random rules put their addresses: near the profile's, and elsewhere
const V4_BASES = ['198.18.0.0/15', '10.0.0.0/8', '203.0.113.0/24', '100.64.0.0/10'].map(mustParseCidr);
const V6_BASES = ['2001:db8::/32', 'fd00::/8'].map(mustParseCidr);

/** A CIDR inside one of the bases. */
function cidrArb(family: Family): fc.Arbitrary<string> {
  const bases = family === 'ipv4' ? V4_BASES : V6_BASES;
  const bits = family === 'ipv4' ? 32 : 128;
  return fc.tuple(fc.constantFrom(...bases), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.nat(bits)).map(([base, offset, extra]) => {
    const prefix = Math.min(bits, base.prefix + (extra % (bits - base.prefix + 1)));
    const size = 1n << BigInt(bits - prefix);
    const address = base.first + ((offset % (base.last - base.first + 1n)) / size) * size;
    return `${formatAddress(family, address)}/${prefix}`;
  });
}

/** Non-overlapping ranges within 1-65535. */
const portsArb: fc.Arbitrary<PortRange[]> = fc.uniqueArray(fc.integer({ min: 1, max: 65535 }), { minLength: 1, maxLength: 24 }).chain((points) => {
  const sorted = [...points].sort((a, b) => a - b);
  return fc.array(fc.boolean(), { minLength: sorted.length, maxLength: sorted.length }).map((pairs) => {
    const ranges: PortRange[] = [];
    for (let i = 0; i < sorted.length; i++) {
      if (pairs[i] && i + 1 < sorted.length) {
        ranges.push(PortRange.range(sorted[i], sorted[i + 1]));
        i++;
      } else {
        ranges.push(PortRange.of(sorted[i]));
      }
    }
    return ranges;
  });
});

const addressListArb = fc.oneof(
  fc.uniqueArray(cidrArb('ipv4'), { minLength: 1, maxLength: 3 }),
  fc.uniqueArray(cidrArb('ipv6'), { minLength: 1, maxLength: 2 }),
  fc.tuple(cidrArb('ipv4'), cidrArb('ipv6')).map(([a, b]) => [a, b]),
);

const ruleArb: fc.Arbitrary<FirewallRuleProps> = fc.record({
  action: fc.constantFrom(RuleAction.ALLOW, RuleAction.ALLOW, RuleAction.DENY),
  protocol: fc.constantFrom(Protocol.UDP, Protocol.UDP, Protocol.TCP, Protocol.ANY, Protocol.ICMP),
  scopes: fc.subarray(SCOPES, { minLength: 1 }),
  sources: fc.option(addressListArb, { nil: undefined }),
  destinations: fc.option(addressListArb, { nil: undefined }),
  sourcePorts: fc.option(portsArb, { nil: undefined, freq: 3 }),
  destinationPorts: fc.option(portsArb, { nil: undefined, freq: 2 }),
}).map((r) => {
  const ports = r.protocol === Protocol.UDP || r.protocol === Protocol.TCP;
  return {
    ...r,
    sourcePorts: ports ? r.sourcePorts : undefined,
    destinationPorts: ports ? r.destinationPorts : undefined,
    overrideFailsafe: r.action === RuleAction.DENY ? true : undefined,
    description: `random ${r.action} ${r.protocol}`,
  };
});

/** A rule with its id, before compilation. */
export interface NamedProps {
  readonly id: string;
  readonly props: FirewallRuleProps;
}

/** One more random rule, for changes to a policy. */
export function randomRule(seed: number): FirewallRuleProps {
  return fc.sample(ruleArb, { seed, numRuns: 1 })[0];
}

const policyArb = fc.record({
  tcpDenied: fc.boolean(),
  rules: fc.array(ruleArb, { minLength: 1, maxLength: 14 }),
});

/**
 * A random policy that compiles: rules the compiler refuses (no effect, contradicted, ...) are
 * dropped one by one, as a user would fix them.
 */
export function randomFirewall(seed: number, profile: ClusterProfile, backend = LinuxBackend.IPTABLES,
  change?: (rules: NamedProps[]) => NamedProps[]): Synthesized {
  const [drawn] = fc.sample(policyArb, { seed, numRuns: 1 });
  let rules = drawn.rules.map((props, i) => ({ id: `r${i}`, props }));
  if (change) rules = change(rules);
  for (;;) {
    try {
      // refused at addRule (the rule on its own) or when the firewall compiles it with the failsafes
      const policy = new FirewallPolicy({ udp: RuleAction.DENY, tcp: drawn.tcpDenied ? RuleAction.DENY : RuleAction.ALLOW });
      for (const r of rules) policy.addRule(r.id, r.props);
      return synthFirewall(profile, policy, backend);
    } catch (error) {
      const id = /rule '([a-z0-9-]+)'/.exec(String(error))?.[1];
      if (!id || !rules.some((r) => r.id === id)) throw error;
      rules = rules.filter((r) => r.id !== id);
    }
  }
}

/** A flow on a node of either OS, with ports for udp and tcp. */
export interface TestFlow extends Flow {
  readonly sourcePort?: number;
  readonly destinationPort?: number;
}

export interface FlowOptions {
  /** Protocols to draw. */
  readonly protocols: Protocol[];
  /** Address ranges no flow may use (martians, the bench's own links). */
  readonly exclude?: Cidr[];
}

/**
 * Seeded flows for a policy: addresses and ports on and around every edge of its rules (and of the
 * loopback and DNS edges the evaluator knows), and uniform ones.
 */
export function randomFlows(docs: HostPolicy[], seed: number, count: number, options: FlowOptions): TestFlow[] {
  const edges: Record<Family, Set<bigint>> = { ipv4: new Set(), ipv6: new Set() };
  const portEdges = new Set<number>([1, 53, 65535]);
  for (const doc of docs) {
    for (const rule of doc.rules) {
      const family = rule.family as Family;
      for (const text of [...rule.sources ?? [], ...rule.destinations ?? []]) {
        const c = mustParseCidr(text);
        for (const a of [c.first - 1n, c.first, c.last, c.last + 1n, (c.first + c.last) / 2n]) {
          if (a >= 0n && a <= maxAddress(family)) edges[family].add(a);
        }
      }
      for (const text of [...rule.sourcePorts ?? [], ...rule.destinationPorts ?? []]) {
        const r = PortRange.parse(text)!;
        for (const p of [r.from - 1, r.from, r.to, r.to + 1]) if (p >= 1 && p <= 65535) portEdges.add(p);
      }
    }
  }
  const excluded = (family: Family, a: bigint) => (options.exclude ?? []).some((c) => c.family === family && c.first <= a && a <= c.last);
  const pools = {
    ipv4: [...edges.ipv4].filter((a) => !excluded('ipv4', a)),
    ipv6: [...edges.ipv6].filter((a) => !excluded('ipv6', a)),
  };
  const ports = [...portEdges];
  const address = (family: Family) => fc.oneof(
    { weight: 3, arbitrary: pools[family].length ? fc.constantFrom(...pools[family]) : fc.constant(-1n) },
    { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: maxAddress(family) }) },
  ).filter((a) => a >= 0n && !excluded(family, a)).map((a) => formatAddress(family, a));
  const port = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...ports) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 65535 }) });
  const flowArb = fc.constantFrom<Family>('ipv4', 'ipv6').chain((family) => fc.record({
    scope: fc.constantFrom(...SCOPES),
    protocol: fc.constantFrom(...options.protocols),
    source: address(family),
    destination: address(family),
    sourcePort: port,
    destinationPort: port,
  })).map((f): TestFlow => (f.protocol === Protocol.ICMP ? { ...f, sourcePort: undefined, destinationPort: undefined } : f));
  return fc.sample(flowArb, { seed, numRuns: count });
}
