import { ClusterProfile } from './cluster-profile';
import { K0S_KUBE_ROUTER_PROFILE } from './k0s-kube-router';
import { NodeOs } from '../policy/node-os';
import { PortRange } from '../policy/port-range';
import { Protocol, TrafficScope } from '../policy/protocol';

/**
 * k0s with Calico in VXLAN mode (k0s networking docs: spec.network.provider calico, mode vxlan, udp/4789).
 * CIDRs and DNS are k0s's defaults, as for kube-router.
 */
export const K0S_CALICO_PROFILE: ClusterProfile = {
  ...K0S_KUBE_ROUTER_PROFILE,
  name: 'k0s-calico',
  description: 'k0s with Calico VXLAN (udp/4789), Linux nodes',
  infrastructure: [
    {
      id: 'calico-vxlan',
      protocol: Protocol.UDP,
      ports: [PortRange.of(4789)],
      scopes: [TrafficScope.NODE_INGRESS, TrafficScope.NODE_EGRESS],
      nodeOs: [NodeOs.LINUX],
      description: 'Calico VXLAN overlay between nodes',
    },
  ],
};
