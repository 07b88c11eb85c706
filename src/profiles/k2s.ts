import { ClusterProfile } from './cluster-profile';
import { NodeOs } from '../policy/node-os';
import { PortRange } from '../policy/port-range';
import { Protocol, TrafficScope } from '../policy/protocol';

/**
 * K2s: a Linux control-plane VM plus Windows hosts, Flannel in host-gw mode (routes, no overlay UDP).
 * Values: Siemens-Healthineers/K2s cfg/config.json defaults (FIELD-NOTES "K2s defaults").
 */
export const K2S_PROFILE: ClusterProfile = {
  name: 'k2s',
  description: 'K2s: Linux control plane + Windows nodes, Flannel host-gw',
  // cfg/config.json: pod network 172.20.0.0/16 (Linux 172.20.0.0/24, first Windows node 172.20.1.0/24)
  podCidrs: ['172.20.0.0/16'],
  // cfg/config.json: service network 172.21.0.0/16, cluster DNS 172.21.0.10
  serviceCidrs: ['172.21.0.0/16'],
  clusterDnsIp: '172.21.0.10',
  // K2s's dnsproxy listens on the Windows host switch 172.19.1.1, which the Linux VM resolves through
  upstreamResolvers: ['172.19.1.1'],
  // control plane 172.19.1.100 and host switch 172.19.1.1 share the K2s host network
  nodeCidrs: ['172.19.1.0/24'],
  // the control-plane VM (cfg/config.json 172.19.1.100) serves the API on 6443
  apiServer: '172.19.1.100:6443',
  infrastructure: [
    {
      id: 'k2s-dnsproxy',
      protocol: Protocol.UDP,
      ports: [PortRange.of(53)],
      scopes: [TrafficScope.NODE_INGRESS],
      nodeOs: [NodeOs.WINDOWS],
      // CoreDNS forwards to it from its pod IP, and Windows pods may query it directly
      fromPods: true,
      description: 'K2s dnsproxy on the Windows host serves DNS on udp/53',
    },
  ],
  nodeOs: [NodeOs.LINUX, NodeOs.WINDOWS],
  // K2s taints its Windows nodes OS=Windows:NoSchedule
  windowsTaints: [{ key: 'OS', value: 'Windows', effect: 'NoSchedule' }],
  namespace: 'hostnet-system',
};
