import { NodeOs } from '../policy/node-os';
import { PortRange } from '../policy/port-range';
import { Protocol, TrafficScope } from '../policy/protocol';

/** A taint that nodes of a profile carry and that the firewall's pods must tolerate. */
export interface NodeTaint {
  /** Taint key, e.g. `OS`. */
  readonly key: string;
  /**
   * Taint value, e.g. `Windows`.
   * @default - no value
   */
  readonly value?: string;
  /** NoSchedule, PreferNoSchedule or NoExecute. */
  readonly effect: string;
}

/** Traffic a cluster's own infrastructure needs (overlay, VPN, DNS proxy): always kept open. */
export interface InfrastructurePort {
  /** Stable rule id, e.g. `flannel-vxlan`. */
  readonly id: string;
  /** The protocol, usually `Protocol.UDP`. */
  readonly protocol: Protocol;
  /** The ports, as destination ports outbound and local ports inbound. */
  readonly ports: PortRange[];
  /** Where it flows on the nodes that need it. */
  readonly scopes: TrafficScope[];
  /** Which nodes need it. */
  readonly nodeOs: NodeOs[];
  /**
   * Pods use it too (a DNS proxy on the host), so inbound it is open to the pod CIDRs as well as
   * to the nodes.
   * @default false - only between nodes
   */
  readonly fromPods?: boolean;
  /** What the traffic is for; shown in the generated scripts. */
  readonly description: string;
}

/**
 * What a firewall must know about a cluster so it never breaks the cluster it protects.
 * Pure data: one file per profile, each value with its source.
 */
export interface ClusterProfile {
  /** Profile name, as `CLUSTER_PROFILE` selects it. */
  readonly name: string;
  /** One line on the cluster: distribution, CNI and its mode. */
  readonly description: string;
  /** The pod networks (the cluster CIDR); CoreDNS pods run in them. */
  readonly podCidrs: string[];
  /** The Service networks. */
  readonly serviceCidrs: string[];
  /** The cluster DNS Service IP (kubelet's clusterDNS). */
  readonly clusterDnsIp: string;
  /** Resolvers the nodes and CoreDNS forward to (the nodes' /etc/resolv.conf). */
  readonly upstreamResolvers: string[];
  /**
   * NodeLocal DNSCache listen address, when the cluster runs it.
   * @default - no NodeLocal DNSCache
   */
  readonly nodeLocalDnsIp?: string;
  /**
   * Addresses of the nodes; infrastructure UDP is restricted to them.
   * @default - any address
   */
  readonly nodeCidrs?: string[];
  /** Traffic the cluster's own infrastructure needs (overlay, VPN, DNS proxy): kept open as failsafes. */
  readonly infrastructure: InfrastructurePort[];
  /**
   * `host:port` of the Kubernetes API server as nodes reach it: the agents check TCP to it before and
   * after an apply. IPv6 as `[addr]:port`.
   * @default - the kubernetes Service (KUBERNETES_SERVICE_HOST and _PORT in the agent's pod)
   */
  readonly apiServer?: string;
  /**
   * The cluster's DNS domain: the agents ask the resolvers for `kubernetes.default.svc.<domain>`.
   * @default 'cluster.local'
   */
  readonly clusterDomain?: string;
  /** The operating systems of the cluster's nodes: one agent DaemonSet each. */
  readonly nodeOs: NodeOs[];
  /** Taints of Windows nodes. */
  readonly windowsTaints: NodeTaint[];
  /** Namespace of the firewall's objects. */
  readonly namespace: string;
}
