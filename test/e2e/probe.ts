// Reachability probes: send a nonce, true iff the same bytes come back from the echo responder.
// Probes go through one long-lived agent per namespace (see udp-tcp-agent.js), because spawning
// node for every probe costs ~80 ms and the firewall suites run hundreds of probes.
import { Role, Topology } from './topology';

export type Proto = 'udp' | 'tcp';

export interface ProbeSpec {
  readonly proto: Proto;
  /** Destination address. */
  readonly to: string;
  readonly port: number;
  /** Fixed source port (e.g. 53 to play a spoofed "DNS reply"); random when omitted. */
  readonly srcPort?: number;
  /** Fixed source address (e.g. ext's undeclared 198.18.0.99); chosen by routing when omitted. */
  readonly srcAddr?: string;
  /** How long to wait for the echo; default DEFAULT_TIMEOUT_MS. */
  readonly timeoutMs?: number;
}

export interface ProbeResult {
  readonly ok: boolean;
  /** 'echo', 'timeout', or the socket error code (ECONNREFUSED, EPERM, ...). */
  readonly detail: string;
  /** Round trip measured inside the agent. */
  readonly ms: number;
}

/** A blocked probe costs this long (allowed ones return in ~1 ms). */
export const DEFAULT_TIMEOUT_MS = 400;

/** True iff an echo came back. Throws only when the probe could not be sent (e.g. source port in use). */
export async function probe(topo: Topology, from: Role, spec: ProbeSpec): Promise<boolean> {
  return (await probeDetailed(topo, from, spec)).ok;
}

/** Like probe, with why it failed and how long it took. */
export async function probeDetailed(topo: Topology, from: Role, spec: ProbeSpec): Promise<ProbeResult> {
  const agent = await topo.agent(from);
  const reply = await agent.request({ ...spec, timeoutMs: spec.timeoutMs ?? DEFAULT_TIMEOUT_MS });
  if (typeof reply.localError === 'string') {
    throw new Error(`probe ${describeProbe(from, spec)} could not be sent: ${reply.localError}`);
  }
  return { ok: reply.ok === true, detail: String(reply.detail), ms: Number(reply.ms) };
}

export interface ProbeRequest extends ProbeSpec {
  readonly from: Role;
}

/**
 * Runs many probes at once. Probes sharing a fixed (namespace, proto, source port) run one after
 * another, since they would otherwise fight over the same socket; everything else runs concurrently.
 * Results come back in the order of `list`.
 */
export async function probeMany(topo: Topology, list: readonly ProbeRequest[]): Promise<boolean[]> {
  const lanes = new Map<string, number[]>();
  list.forEach((p, index) => {
    const key = p.srcPort === undefined ? `#${index}` : `${p.from}/${p.proto}/${p.srcPort}`;
    const lane = lanes.get(key) ?? [];
    lane.push(index);
    lanes.set(key, lane);
  });
  const results: boolean[] = new Array(list.length);
  await Promise.all([...lanes.values()].map(async (lane) => {
    for (const index of lane) {
      const { from, ...spec } = list[index];
      results[index] = await probe(topo, from, spec);
    }
  }));
  return results;
}

/** 'podA -udp-> 198.18.64.10:53' style label for test names and messages. */
export function describeProbe(from: Role, spec: ProbeSpec): string {
  const src = spec.srcPort === undefined && spec.srcAddr === undefined
    ? ''
    : ` (from ${spec.srcAddr ?? '*'}:${spec.srcPort ?? '*'})`;
  return `${from}${src} -${spec.proto}-> ${spec.to}:${spec.port}`;
}
