import { flowVerdicts } from './flow-verdicts';
import { Output, verdictLine } from './output';
import { readDist } from './read-dist';
import { UsageError, parseFlags } from './usage';
import { Flow } from '../explain/explain-flow';
import { parseCidr } from '../policy/cidr';
import { NodeOs } from '../policy/node-os';
import { Protocol, TrafficScope } from '../policy/protocol';

const FLAGS = {
  'node-os': 'value',
  'scope': 'value',
  'proto': 'value',
  'src': 'value',
  'dst': 'value',
  'sport': 'value',
  'dport': 'value',
  'dnat-to': 'value',
  'firewall': 'value',
  'json': 'boolean',
} as const;

/** `explain DIST ...`: the verdict of each firewall on one flow, and the combined one. Exit 0 whatever it is. */
export function explainCommand(args: string[], io: Output): number {
  const { positional, flags } = parseFlags('explain', args, FLAGS);
  if (positional.length !== 1) throw new UsageError(`explain: expected one DIST, got ${positional.length ? positional.map((p) => JSON.stringify(p)).join(' ') : 'none'}`, true);
  const value = (name: string) => {
    const v = flags.get(name);
    if (v === undefined) throw new UsageError(`explain: --${name} is required`, true);
    return v as string;
  };
  const optional = (name: string) => flags.get(name) as string | undefined;
  const os = oneOf('--node-os', value('node-os'), Object.values(NodeOs));
  const flow: Flow = {
    scope: oneOf('--scope', value('scope'), Object.values(TrafficScope)),
    protocol: oneOf('--proto', value('proto'), [Protocol.UDP, Protocol.TCP, Protocol.ICMP]),
    source: address('--src', value('src')),
    destination: address('--dst', value('dst')),
    sourcePort: port('--sport', optional('sport')),
    destinationPort: port('--dport', optional('dport')),
    dnatDestination: optional('dnat-to') === undefined ? undefined : address('--dnat-to', optional('dnat-to')!),
  };
  if (flow.protocol === Protocol.ICMP && (flow.sourcePort !== undefined || flow.destinationPort !== undefined)) {
    throw new UsageError('explain: --sport and --dport cannot be given with --proto icmp (icmp has no ports)');
  }
  const result = flowVerdicts(readDist(positional[0]), os, flow, optional('firewall'));
  if (flags.has('json')) {
    const single = result.firewalls.length === 1 ? result.firewalls[0] : undefined;
    io.out(`${JSON.stringify({
      flow: { nodeOs: os, ...flow },
      verdict: result.combined,
      ruleId: single?.ruleId,
      isDefault: single?.isDefault,
      reason: single?.reason,
      firewalls: result.firewalls,
    }, undefined, 2)}\n`);
    return 0;
  }
  if (result.firewalls.length === 1) {
    const v = result.firewalls[0];
    io.out(`${verdictLine(v)}\n  ${v.reason}\n`);
    return 0;
  }
  for (const v of result.firewalls) io.out(`firewall ${v.firewall}: ${verdictLine(v)}\n  ${v.reason}\n`);
  io.out(`combined: ${result.combined} (a packet passes only if every firewall that selects the node allows it)\n`);
  return 0;
}

export function oneOf<T extends string>(flag: string, v: string, allowed: T[]): T {
  if (!allowed.includes(v as T)) throw new UsageError(`${flag} ${JSON.stringify(v)} must be one of ${allowed.join(', ')}`, true);
  return v as T;
}

export function address(flag: string, v: string): string {
  const parsed = parseCidr(v);
  if (typeof parsed === 'string' || parsed.first !== parsed.last) throw new UsageError(`${flag} ${JSON.stringify(v)} is not an IP address`, true);
  return v;
}

export function port(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d{1,5}$/.test(v) || Number(v) < 1 || Number(v) > 65535) throw new UsageError(`${flag} ${JSON.stringify(v)} must be a port from 1 to 65535`, true);
  return Number(v);
}
