// Two network namespaces joined by one veth, with an IPv4 and an IPv6 address on each end: the
// smallest "client and node" a test of the node's own rules needs.
import { deleteNamespace, nsExecOk, run } from './netns';

export interface VethPair {
  readonly client: string;
  readonly node: string;
  remove(): Promise<void>;
}

/** Addresses of the pair, from 198.18.0.0/15 and a ULA, as every real-kernel test uses. */
export const PAIR_NET = { client4: '198.18.0.1', node4: '198.18.0.2', client6: 'fd00:18::1', node6: 'fd00:18::2' };

/** The profile values of a policy for the pair (the node network is not the pair's). */
export const PAIR_PROFILE = {
  podCidrs: ['198.19.0.0/16'],
  serviceCidrs: ['198.18.64.0/18'],
  clusterDnsIp: '198.18.64.10',
  upstreamResolvers: ['198.18.0.53'],
};

export interface PairAddresses {
  readonly client4: string;
  readonly node4: string;
  readonly client6: string;
  readonly node6: string;
}

/** Namespaces `<prefix>-client` and `<prefix>-node` (any left by a crashed run are replaced). */
export async function vethPair(prefix: string, net: PairAddresses): Promise<VethPair> {
  const client = `${prefix}-client`;
  const node = `${prefix}-node`;
  const remove = async () => {
    for (const ns of [client, node]) await deleteNamespace(ns);
  };
  await remove();
  await run('ip', ['netns', 'add', client]);
  await run('ip', ['netns', 'add', node]);
  await nsExecOk(undefined, `ip link add ${prefix}c netns ${client} type veth peer name ${prefix}n netns ${node}`);
  for (const [ns, dev, v4, v6] of [[client, `${prefix}c`, net.client4, net.client6], [node, `${prefix}n`, net.node4, net.node6]]) {
    await nsExecOk(ns, `ip link set lo up && ip link set ${dev} up && ip addr add ${v4}/24 dev ${dev} && ip addr add ${v6}/64 dev ${dev} nodad`);
  }
  return { client, node, remove };
}
