import { ClusterProfile } from './cluster-profile';
import { NodeOs } from '../policy/node-os';

/** A cluster this library knows nothing about: every network value comes from the override file. */
export const GENERIC_PROFILE: ClusterProfile = {
  name: 'generic',
  description: 'Any cluster; CIDRs, DNS and infrastructure ports from the override file',
  podCidrs: [],
  serviceCidrs: [],
  clusterDnsIp: '',
  upstreamResolvers: [],
  infrastructure: [],
  nodeOs: [NodeOs.LINUX],
  windowsTaints: [],
  namespace: 'hostnet-system',
};
