// The policies the benchmark loads: synthesized from the real chart with the test helpers, with
// E2E-like network values and the benchmark's own exemptions added through the override mechanism.
import { Backend, PolicyVariant } from './ratios';
import { kubeProxyStandInRules } from '../test/e2e/kube-proxy-stand-in';
import { distinctCidrs, distinctCidrs28 } from '../test/util/gen-cidrs';
import { E2E_OVERRIDES, linuxScripts, synthProfile } from '../test/util/synth';

/** The profile every firewall benchmark synthesizes (the synth app's default). */
export const BENCH_PROFILE = 'k2s';

/** Addresses of the throughput topology: only 198.18.0.0/15, like test/e2e/topology.ts. */
export const BENCH_ADDR = {
  /** A pod on the node (the iperf3 client). */
  client: '198.19.1.2',
  /** The node's address on the pod veth (the client's default gateway). */
  podGateway: '198.19.1.1',
  /** The node's address on its uplink. */
  node: '198.18.0.1',
  /** An off-node server on the node network (the iperf3 server); not a declared resolver. */
  server: '198.18.0.80',
  /** Where the kube-proxy stand-in DNATs the cluster DNS Service IP (never reached by the bench). */
  corednsPod: '198.19.2.2',
} as const;

export const IPERF_PORT = 5201;

/** Size of the big exemption list (the 1,000 exempted CIDRs). */
export const BULK_COUNT = 1000;

/**
 * 1,000 CIDRs (100.64.0.0/10, shared address space) as one exemption: udp, podForward and nodeEgress.
 * None of them matches the benchmark traffic (198.18.0.0/15): the worst case, every lookup misses.
 */
export function bulkExemption(count = BULK_COUNT): Record<string, unknown> {
  return {
    id: 'bench-bulk',
    protocol: 'udp',
    scopes: ['podForward', 'nodeEgress'],
    destinations: distinctCidrs(count),
    description: `${count} exempted CIDRs that never match the benchmark traffic`,
  };
}

/** The iperf3 flow's own allow, and the rule each policy variant allows the flow by. */
export const FLOW_ALLOW = 'bench-iperf-udp';
export const flowAllowOf = (policy: PolicyVariant | string | undefined) => (policy?.endsWith('-in-list') ? 'bench-bulk' : FLOW_ALLOW);

/**
 * The iperf3 UDP flow must be allowed, or the benchmark measures drops. Declared after bench-bulk,
 * so a packet that has to be evaluated reaches this allow only after missing the big set.
 * The reply exemption carries iperf3's one UDP handshake reply when the flow is untracked.
 */
export function iperfExemptions(): Record<string, unknown>[] {
  return [
    {
      id: FLOW_ALLOW,
      protocol: 'udp',
      scopes: ['podForward'],
      destinations: [BENCH_ADDR.server],
      destinationPorts: [String(IPERF_PORT)],
      description: 'the benchmark flow: iperf3 UDP from the pod to the server',
    },
    {
      id: 'bench-iperf-reply',
      protocol: 'udp',
      scopes: ['podForward'],
      sources: [BENCH_ADDR.server],
      sourcePorts: [String(IPERF_PORT)],
      description: 'the iperf3 UDP handshake reply (needed only when the flow is untracked)',
    },
  ];
}

/** sockperf's port, on the off-node server (forwarded) and on the node itself. */
export const SOCKPERF_PORT = 11111;

/**
 * The latency flows' allows, declared after the big set like the iperf3 allow: UDP to the server
 * (podForward) and to the node (nodeIngress). TCP is not governed by the policy; its replies and
 * UDP's take the conntrack shortcut.
 */
export function sockperfExemptions(): Record<string, unknown>[] {
  return [
    {
      id: 'bench-sockperf-forward',
      protocol: 'udp',
      scopes: ['podForward'],
      destinations: [BENCH_ADDR.server],
      destinationPorts: [String(SOCKPERF_PORT)],
      description: 'the latency flow: sockperf UDP from the pod to the off-node server',
    },
    {
      id: 'bench-sockperf-node',
      protocol: 'udp',
      scopes: ['nodeIngress'],
      destinationPorts: [String(SOCKPERF_PORT)],
      description: 'the latency flow: sockperf UDP from the pod to the node itself',
    },
  ];
}

/**
 * The big exemption of the latency and scale phases: `count` CIDRs in every scope, so the node path
 * (INPUT) carries the set as well as the forward path. The scale phase lists non-adjacent /28s at
 * every size (nothing can merge them: Windows' complement stays as large as the list); the latency
 * phase passes the throughput phase's /24s. `cidrs-ports` adds a destination port list.
 */
export function scaleBulkExemption(count: number, variant: 'cidrs' | 'cidrs-ports' = 'cidrs', destinations = distinctCidrs28(count)): Record<string, unknown> {
  return {
    id: 'bench-bulk',
    protocol: 'udp',
    scopes: ['podForward', 'nodeEgress', 'nodeIngress'],
    destinations,
    // none of these is the iperf3 (5201) or sockperf (11111) port: the benchmark traffic misses
    ...(variant === 'cidrs-ports' ? { destinationPorts: SCALE_PORT_LIST } : {}),
    description: `${count} exempted CIDRs that never match the benchmark traffic`,
  };
}

/** The port list of the `cidrs-ports` variant: single ports and ranges, as a real list looks. */
export const SCALE_PORT_LIST = ['123', '443', '500', '1194', '3478', '4500', '5060', '8000-8100', '20000-30000', '51000-51999'];

/** apply.sh/remove.sh with the latency (and iperf3) allows, plus the big exemption when `count` is given. */
export function latencyScripts(backend: Backend, count?: number): Scripts {
  const exemptions = [...(count === undefined ? [] : [scaleBulkExemption(count, 'cidrs', distinctCidrs(count))]), ...iperfExemptions(), ...sockperfExemptions()];
  return linuxScripts(synthProfile(BENCH_PROFILE, { ...E2E_OVERRIDES, linuxBackend: backend, exemptions }));
}

/** The same policy without the latency allows: the UDP latency flows must then be dropped. */
export function latencyDenyScripts(backend: Backend): Scripts {
  const exemptions = [scaleBulkExemption(BULK_COUNT, 'cidrs', distinctCidrs(BULK_COUNT)), ...iperfExemptions()];
  return linuxScripts(synthProfile(BENCH_PROFILE, { ...E2E_OVERRIDES, linuxBackend: backend, exemptions }));
}

export interface Scripts {
  readonly apply: string;
  readonly remove: string;
}

/**
 * The in-list variant's big set: the server's /24 in place of the list's first entry (still 1,000
 * distinct /24s), and no allow of the flow's own: every datagram is allowed by the set lookup.
 */
export function inListExemptions(bulk = bulkExemption(), serverPrefix = 24): Record<string, unknown>[] {
  const list = bulk.destinations as string[];
  const destinations = [`${networkOf(BENCH_ADDR.server, serverPrefix)}/${serverPrefix}`, ...list.slice(1)];
  const description = `${list.length} exempted CIDRs, one of them the benchmark server's /${serverPrefix}: the flow's only allow`;
  return [{ ...bulk, destinations, description }, ...iperfExemptions().filter((e) => e.id !== FLOW_ALLOW)];
}

/** The network address of an IPv4 address at a prefix length. */
function networkOf(address: string, prefix: number): string {
  const value = address.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
  const network = value - (value % 2 ** (32 - prefix));
  return [24, 16, 8, 0].map((shift) => Math.floor(network / 2 ** shift) % 256).join('.');
}

/** apply.sh/remove.sh from the synthesized ConfigMap for one backend and policy of the throughput matrix. */
export function throughputScripts(backend: Backend, policy: PolicyVariant): Scripts {
  const exemptions = policy === '1000-cidrs-in-list' ? inListExemptions() : [...(policy === '1000-cidrs' ? [bulkExemption()] : []), ...iperfExemptions()];
  return linuxScripts(synthProfile(BENCH_PROFILE, { ...E2E_OVERRIDES, linuxBackend: backend, exemptions }));
}

/** The 1,000-entry policy whose apply time is measured: the profile's defaults plus the bulk exemption. */
export function applyBenchScripts(backend: Backend): Scripts {
  return linuxScripts(synthProfile(BENCH_PROFILE, { ...E2E_OVERRIDES, linuxBackend: backend, exemptions: [bulkExemption()] }));
}

/**
 * What kube-proxy (iptables mode, nft flavour) leaves on every node: a nat table with a Service DNAT
 * and a filter jump. Loaded into every "node" namespace, with or without our policy, so connection
 * tracking runs in the baseline too (as on any real node) and apply.sh's auto-detection picks nft.
 */
export function kubeProxyStandIn(): string {
  return [...kubeProxyStandInRules(E2E_OVERRIDES.clusterDnsIp, BENCH_ADDR.corednsPod), ''].join('\n');
}
