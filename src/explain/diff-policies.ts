import { labelCells } from './box-sweep';
import { decide } from './decide';
import { Verdict, compiledOf } from './explain-flow';
import { HOST_POLICY_FORMAT, HOST_POLICY_KIND, HostPolicy } from './host-policy';
import { Interval, subtract } from '../dialects/windows-complement';
import { formatInterval } from '../dialects/windows-rules';
import { Family, maxAddress, mustParseCidr } from '../policy/cidr';
import { CompiledPolicy, CompiledRule } from '../policy/compiled-policy';
import { FirewallMode } from '../policy/firewall-mode';
import { NodeOs } from '../policy/node-os';
import { Protocol, RuleAction, TrafficScope, ALL_SCOPES } from '../policy/protocol';

/** A set of first packets whose verdict a policy change flips: every combination of its lists. */
export interface DiffRegion {
  /** The NodeFirewall. */
  readonly firewall: string;
  /** The nodes whose rendering changes. */
  readonly nodeOs: NodeOs;
  /** Where on the node. */
  readonly scope: TrafficScope;
  /** udp, tcp or icmp. */
  readonly protocol: Protocol;
  /** ipv4 or ipv6. */
  readonly family: string;
  /** Source addresses: CIDRs and `first-last` ranges, `any`, or `any-except` followed by what is left out. */
  readonly sources: string[];
  /** Destination addresses, as addressed (no DNAT assumed). */
  readonly destinations: string[];
  /** Source ports (`53`, `1-52`, `any`); absent for icmp. @default - icmp: no ports */
  readonly sourcePorts?: string[];
  /** Destination ports; absent for icmp. @default - icmp: no ports */
  readonly destinationPorts?: string[];
  /** The verdict before the change. */
  readonly before: Verdict;
  /** The verdict after the change. */
  readonly after: Verdict;
}

const PROTOCOLS = [Protocol.UDP, Protocol.TCP, Protocol.ICMP];
const FAMILIES: Family[] = ['ipv4', 'ipv6'];
const PORTS: Interval = { from: 1n, to: 65535n };
const LOOPBACK: Record<Family, Interval> = {
  ipv4: { from: mustParseCidr('127.0.0.0/8').first, to: mustParseCidr('127.0.0.0/8').last },
  ipv6: { from: 1n, to: 1n },
};
const DNS: Interval = { from: 53n, to: 53n };

/**
 * Exactly which traffic changes verdict between two sets of policies (the policy.json documents of
 * two dist/ folders), per firewall, OS, scope, protocol and family: the address and port space is
 * cut at every edge either policy mentions, each cell is decided by both (as explainFlow does, with
 * no DNAT), and cells that flip are merged into regions. A firewall present on one side only is
 * compared with no firewall (everything passes). Ports run 1-65535.
 */
export function diffPolicies(before: HostPolicy[], after: HostPolicy[]): DiffRegion[] {
  const key = (d: HostPolicy) => `${d.firewall}\0${d.nodeOs}`;
  const keys = [...new Set([...before, ...after].map(key))].sort();
  const find = (list: HostPolicy[], k: string) => {
    const found = list.filter((d) => key(d) === k);
    if (found.length > 1) throw new Error(`firewall ${found[0].firewall} has two ${found[0].nodeOs} policies on one side of the diff`);
    return found[0];
  };
  return keys.flatMap((k) => {
    const old = find(before, k);
    const next = find(after, k);
    return diffPair(old ?? absent(next!), next ?? absent(old!));
  });
}

/** No firewall: its rules removed. */
function absent(like: HostPolicy): HostPolicy {
  return {
    ...like,
    kind: HOST_POLICY_KIND,
    format: HOST_POLICY_FORMAT,
    mode: FirewallMode.REMOVE,
    udp: RuleAction.ALLOW,
    tcp: RuleAction.ALLOW,
    untrackedDns: [],
    rules: [],
  };
}

function diffPair(old: HostPolicy, next: HostPolicy): DiffRegion[] {
  const regions: DiffRegion[] = [];
  const sides = [{ doc: old, policy: compiledOf(old) }, { doc: next, policy: compiledOf(next) }];
  for (const scope of ALL_SCOPES) {
    for (const protocol of PROTOCOLS) {
      for (const family of FAMILIES) regions.push(...diffCell(sides, scope, protocol, family));
    }
  }
  return regions;
}

interface Side {
  readonly doc: HostPolicy;
  readonly policy: CompiledPolicy;
}

function diffCell(sides: Side[], scope: TrafficScope, protocol: Protocol, family: Family): DiffRegion[] {
  const ports = protocol !== Protocol.ICMP;
  const addresses: Interval = { from: 0n, to: maxAddress(family) };
  const universe = ports ? [addresses, addresses, PORTS, PORTS] : [addresses, addresses];
  const boxes: Interval[][][] = [];
  const chains: (number | undefined)[] = [];
  const add = (dims: (Interval[] | undefined)[], chain?: number) => {
    boxes.push(universe.map((u, d) => dims[d] ?? [u]));
    chains.push(chain);
    return boxes.length - 1;
  };
  const asIntervals = (list: { first: bigint; last: bigint }[] | undefined) => list?.map((c) => ({ from: c.first, to: c.last }));
  const portIntervals = (list: { from: number; to: number }[] | undefined) => list?.map((p) => ({ from: BigInt(p.from), to: BigInt(p.to) }));
  const loSrc = add([[LOOPBACK[family]]]);
  const loDst = add([undefined, [LOOPBACK[family]]]);
  const indexed = sides.map((side, sideIndex) => {
    const index = new Map<CompiledRule, number>();
    for (const rule of side.policy.rules) {
      if (rule.scope !== scope || rule.family !== family || (rule.protocol !== Protocol.ANY && rule.protocol !== protocol)) continue;
      // both engines decide by the first matching rule in this order (Windows: any deny, then any allow);
      // an untrackedOnly rule also depends on the untracked markers, so it never ends a chain
      const dims = [asIntervals(rule.sources), asIntervals(rule.destinations), portIntervals(rule.sourcePorts), portIntervals(rule.destinationPorts)];
      index.set(rule, add(dims,
        rule.untrackedOnly ? undefined : sideIndex));
    }
    const untracked = !ports ? [] : side.doc.untrackedDns.map(mustParseCidr).filter((c) => c.family === family).flatMap((c) => {
      const at = [{ from: c.first, to: c.last }];
      return [add([undefined, at, undefined, [DNS]]), add([at, undefined, [DNS]])];
    });
    return { ...side, index, untracked };
  });
  const cells = labelCells(boxes, universe, (holding) => {
    const held = new Set(holding);
    const verdicts = indexed.map((side) => {
      const untracked = side.untracked.some((i) => held.has(i));
      return decide(side.doc, side.policy, {
        scope,
        protocol,
        family,
        loopback: held.has(loSrc) || held.has(loDst),
        matches: (rule) => {
          const i = side.index.get(rule);
          return i !== undefined && held.has(i) && (!rule.untrackedOnly || untracked);
        },
      }).allowed ? Verdict.ALLOW : Verdict.DENY;
    });
    return verdicts[0] === verdicts[1] ? undefined : `${verdicts[0]}>${verdicts[1]}`;
  }, chains);
  const doc = sides[1].doc;
  return cells.map(({ box, label }) => {
    const [before, after] = label.split('>') as Verdict[];
    return {
      firewall: doc.firewall,
      nodeOs: doc.nodeOs,
      scope,
      protocol,
      family,
      sources: addressTexts(family, box[0]),
      destinations: addressTexts(family, box[1]),
      sourcePorts: ports ? portTexts(box[2]) : undefined,
      destinationPorts: ports ? portTexts(box[3]) : undefined,
      before,
      after,
    };
  });
}

/** `any`, the list, or `any-except` and the (shorter) list of what is left out. */
function addressTexts(family: Family, set: Interval[]): string[] {
  const gaps = subtract({ from: 0n, to: maxAddress(family) }, set);
  if (gaps.length === 0) return ['any'];
  if (gaps.length < set.length || (gaps.length === set.length && gaps.length === 1 && set[0].from === 0n)) {
    return ['any-except', ...gaps.map((i) => formatInterval(family, i))];
  }
  return set.map((i) => formatInterval(family, i));
}

function portTexts(set: Interval[]): string[] {
  if (set.length === 1 && set[0].from === PORTS.from && set[0].to === PORTS.to) return ['any'];
  return set.map((i) => (i.from === i.to ? `${i.from}` : `${i.from}-${i.to}`));
}
