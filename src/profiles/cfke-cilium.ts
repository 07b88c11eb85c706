import { ClusterProfile } from './cluster-profile';
import { NodeOs } from '../policy/node-os';
import { PortRange } from '../policy/port-range';
import { Protocol, TrafficScope } from '../policy/protocol';

const BETWEEN_NODES = [TrafficScope.NODE_INGRESS, TrafficScope.NODE_EGRESS];

/**
 * CFKE-style clusters: nodes in several clouds joined by a WireGuard mesh (udp/51820), Cilium's VXLAN
 * overlay (udp/8472, Cilium's default tunnel port) inside it, and Cilium's own transparent WireGuard
 * encryption (udp/51871) when enabled. CIDRs are Cilium's cluster-pool and kubeadm's defaults:
 * override them with the cluster's real values.
 */
export const CFKE_CILIUM_PROFILE: ClusterProfile = {
  name: 'cfke-cilium',
  description: 'Cilium VXLAN over a WireGuard node mesh, Linux nodes',
  podCidrs: ['10.0.0.0/8'],
  serviceCidrs: ['10.96.0.0/12'],
  clusterDnsIp: '10.96.0.10',
  upstreamResolvers: [],
  infrastructure: [
    {
      id: 'wireguard-mesh',
      protocol: Protocol.UDP,
      ports: [PortRange.of(51820)],
      scopes: BETWEEN_NODES,
      nodeOs: [NodeOs.LINUX],
      description: 'WireGuard mesh between nodes',
    },
    {
      id: 'cilium-vxlan',
      protocol: Protocol.UDP,
      ports: [PortRange.of(8472)],
      scopes: BETWEEN_NODES,
      nodeOs: [NodeOs.LINUX],
      description: 'Cilium VXLAN overlay between nodes',
    },
    {
      id: 'cilium-wireguard',
      protocol: Protocol.UDP,
      ports: [PortRange.of(51871)],
      scopes: BETWEEN_NODES,
      nodeOs: [NodeOs.LINUX],
      description: 'Cilium transparent WireGuard encryption',
    },
  ],
  nodeOs: [NodeOs.LINUX],
  windowsTaints: [],
  namespace: 'hostnet-system',
};
