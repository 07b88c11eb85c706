import { ClusterProfile } from './cluster-profile';
import { NodeOs } from '../policy/node-os';

/**
 * k0s with its default CNI, kube-router: routes pods natively and peers over BGP (tcp/179), so it
 * needs no UDP. Values: k0s ClusterConfig defaults (spec.network.podCIDR 10.244.0.0/16,
 * serviceCIDR 10.96.0.0/12; clusterDNS is the tenth address of the service CIDR).
 * Upstream resolvers depend on the hosts: declare them in the override file.
 */
export const K0S_KUBE_ROUTER_PROFILE: ClusterProfile = {
  name: 'k0s-kube-router',
  description: 'k0s with kube-router (BGP, no overlay UDP), Linux nodes',
  podCidrs: ['10.244.0.0/16'],
  serviceCidrs: ['10.96.0.0/12'],
  clusterDnsIp: '10.96.0.10',
  upstreamResolvers: [],
  infrastructure: [],
  nodeOs: [NodeOs.LINUX],
  windowsTaints: [],
  namespace: 'hostnet-system',
};
