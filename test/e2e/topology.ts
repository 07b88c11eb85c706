// A two-node, cluster-like topology of network namespaces with host-gw pod routing,
// a kube-proxy-like DNAT for the cluster DNS service, and echo responders everywhere.
//
//   podA 198.19.1.2 --vethpod-- nodeA 198.18.0.1 --+
//                                                  |  lan (bridge br0, 198.18.0.0/24)
//   podB 198.19.2.2 --vethpod-- nodeB 198.18.0.2 --+
//        (CoreDNS)                                 |
//                              ext 198.18.0.53 ----+  (upstream DNS) + 198.18.0.99 (undeclared)
import { kubeProxyStandInRules } from './kube-proxy-stand-in';
import { ExecOptions, ExecResult, NetnsAgent, deleteNamespace, listNamespaces, nsExec, nsExecOk } from './netns';

export type Role = 'lan' | 'nodeA' | 'nodeB' | 'ext' | 'podA' | 'podB';
export const ROLES: readonly Role[] = ['lan', 'nodeA', 'nodeB', 'ext', 'podA', 'podB'];

export type IptablesVariant = 'legacy' | 'nft';

/** Every address the topology uses. Only 198.18.0.0/15 (benchmarking range) plus link-local. */
export const ADDR = {
  lanCidr: '198.18.0.0/24',
  nodeA: '198.18.0.1',
  nodeB: '198.18.0.2',
  extDns: '198.18.0.53',
  extUndeclared: '198.18.0.99',
  podCidr: '198.19.0.0/16',
  podCidrA: '198.19.1.0/24',
  podGwA: '198.19.1.1',
  podA: '198.19.1.2',
  podCidrB: '198.19.2.0/24',
  podGwB: '198.19.2.1',
  podB: '198.19.2.2',
  serviceCidr: '198.18.64.0/18',
  clusterDns: '198.18.64.10',
  nodeLocalDns: '169.254.20.10',
} as const;

/** Interface names, the same in every namespace that has them. */
export const IFACE = {
  lanBridge: 'br0',
  /** A node's and ext's uplink into the lan bridge. */
  uplink: 'eth0',
  /** The node end of the node<->pod veth. */
  nodePodVeth: 'vethpod',
  /** The pod end of the node<->pod veth. */
  podEth: 'eth0',
  /** NodeLocal DNSCache's dummy interface (same name as the real add-on uses). */
  nodeLocalDns: 'nodelocaldns',
} as const;

export interface TopologyOptions {
  /** Short unique prefix (letters/digits, max 6) for namespace names, e.g. 'hn3a'. */
  readonly prefix: string;
  /** Which iptables backend the kube-proxy-like rules are written with. */
  readonly iptables: IptablesVariant;
  /** Add a NodeLocal DNSCache look-alike (169.254.20.10 + raw NOTRACK) on nodeA. */
  readonly nodeLocalDns?: boolean;
  /** Extra UDP ports every responder echoes on (53 is always there). */
  readonly udpPorts?: readonly number[];
  /** Extra TCP ports every responder echoes on (53 is always there). */
  readonly tcpPorts?: readonly number[];
}

export const DEFAULT_UDP_PORTS: readonly number[] = [5000, 4789, 8472, 51820];
export const DEFAULT_TCP_PORTS: readonly number[] = [5000];

/** Addresses each role's echo responders bind (explicit addresses, so UDP replies leave from the probed one). */
const LISTEN_ADDRS: Record<Exclude<Role, 'lan'>, readonly string[]> = {
  nodeA: [ADDR.nodeA, ADDR.podGwA],
  nodeB: [ADDR.nodeB, ADDR.podGwB],
  ext: [ADDR.extDns, ADDR.extUndeclared],
  podA: [ADDR.podA],
  podB: [ADDR.podB],
};

export class Topology {
  static async create(opts: TopologyOptions): Promise<Topology> {
    if (!/^[a-z0-9]{1,6}$/i.test(opts.prefix)) {
      throw new Error(`prefix must be 1-6 letters/digits, got '${opts.prefix}'`);
    }
    await Topology.removeLeftovers(opts.prefix);
    const topo = new Topology(opts);
    try {
      await topo.build();
    } catch (err) {
      await topo.destroy();
      throw err;
    }
    return topo;
  }

  /** Deletes namespaces (and what runs in them) left by an earlier crashed run with this prefix. */
  static async removeLeftovers(prefix: string): Promise<void> {
    const mine = (await listNamespaces()).filter((name) => name.startsWith(`${prefix}-`));
    await Promise.all(mine.map(deleteNamespace));
  }

  readonly addr = ADDR;
  readonly iface = IFACE;
  readonly udpPorts: readonly number[];
  readonly tcpPorts: readonly number[];
  private readonly servers: NetnsAgent[] = [];
  private readonly clients = new Map<Role, Promise<NetnsAgent>>();
  private destroying?: Promise<void>;

  private constructor(readonly opts: TopologyOptions) {
    this.udpPorts = uniquePorts([53, ...(opts.udpPorts ?? DEFAULT_UDP_PORTS)]);
    this.tcpPorts = uniquePorts([53, ...(opts.tcpPorts ?? DEFAULT_TCP_PORTS)]);
  }

  /** The real namespace name of a role. */
  ns(role: Role): string {
    return `${this.opts.prefix}-${role}`;
  }

  /** `iptables-legacy` or `iptables-nft`, matching what the kube-proxy look-alike used. */
  get iptables(): string {
    return `iptables-${this.opts.iptables}`;
  }

  /** Runs `sh -c cmd` in the role's namespace; never throws on a non-zero exit. */
  exec(role: Role, cmd: string, opts?: ExecOptions): Promise<ExecResult> {
    return nsExec(this.ns(role), cmd, opts);
  }

  /** Runs `sh -c cmd` in the role's namespace; throws with stderr on a non-zero exit. */
  execOk(role: Role, cmd: string, opts?: ExecOptions): Promise<ExecResult> {
    return nsExecOk(this.ns(role), cmd, opts);
  }

  /** The long-lived probing agent of a role, started on first use and stopped by destroy(). */
  agent(role: Role): Promise<NetnsAgent> {
    if (this.destroying) return Promise.reject(new Error('topology destroyed'));
    let agent = this.clients.get(role);
    if (!agent) {
      agent = NetnsAgent.start(this.ns(role), ['client']);
      this.clients.set(role, agent);
    }
    return agent;
  }

  /** Stops every agent and deletes every namespace. Idempotent. */
  destroy(): Promise<void> {
    this.destroying ??= (async () => {
      const clients = await Promise.allSettled(this.clients.values());
      const agents = [...this.servers];
      for (const c of clients) if (c.status === 'fulfilled') agents.push(c.value);
      await Promise.all(agents.map((a) => a.stop()));
      await Promise.all(ROLES.map((role) => deleteNamespace(this.ns(role))));
    })();
    return this.destroying;
  }

  private async build(): Promise<void> {
    await nsExecOk(undefined, this.wiringScript());
    await Promise.all(ROLES.map((role) => this.execOk(role, this.configScript(role))));
    await Promise.all([
      this.applyKubeProxyRules('nodeA'),
      this.applyKubeProxyRules('nodeB'),
    ]);
    await this.startResponders();
  }

  /** Creates the namespaces, the lan bridge and all veth pairs (run in the host namespace). */
  private wiringScript(): string {
    const n = (role: Role) => this.ns(role);
    const lines = ['set -e'];
    for (const role of ROLES) lines.push(`ip netns add ${n(role)}`);
    lines.push(`ip -n ${n('lan')} link add ${IFACE.lanBridge} type bridge forward_delay 0`);
    for (const role of ['nodeA', 'nodeB', 'ext'] as const) {
      // Veth ends are created straight inside their namespaces, so names never clash with the host.
      lines.push(`ip -n ${n('lan')} link add ${role} type veth peer name ${IFACE.uplink} netns ${n(role)}`);
      lines.push(`ip -n ${n('lan')} link set ${role} master ${IFACE.lanBridge} up`);
    }
    lines.push(`ip -n ${n('nodeA')} link add ${IFACE.nodePodVeth} type veth peer name ${IFACE.podEth} netns ${n('podA')}`);
    lines.push(`ip -n ${n('nodeB')} link add ${IFACE.nodePodVeth} type veth peer name ${IFACE.podEth} netns ${n('podB')}`);
    return lines.join('\n');
  }

  /** Addresses, routes and sysctls of one role (run inside that namespace). */
  private configScript(role: Role): string {
    const lines = [
      'set -e',
      'ip link set lo up',
      // The kernel rate-limits ICMP errors (per peer, and ~1000/s per namespace); closed-port
      // probes would then flip between a fast ECONNREFUSED and a slow timeout.
      'echo 0 > /proc/sys/net/ipv4/icmp_ratelimit',
      'echo 1000000 > /proc/sys/net/ipv4/icmp_msgs_per_sec',
      'echo 1000000 > /proc/sys/net/ipv4/icmp_msgs_burst',
    ];
    switch (role) {
      case 'lan':
        // With br_netfilter loaded, a fresh namespace sends bridged frames through its own
        // iptables/conntrack. Keep the switch a plain switch.
        lines.push('if [ -w /proc/sys/net/bridge/bridge-nf-call-iptables ]; then echo 0 > /proc/sys/net/bridge/bridge-nf-call-iptables; fi');
        lines.push(`ip link set ${IFACE.lanBridge} up`);
        break;
      case 'nodeA':
      case 'nodeB': {
        const a = role === 'nodeA'
          ? { self: ADDR.nodeA, gw: ADDR.podGwA, peer: ADDR.nodeB, peerPods: ADDR.podCidrB }
          : { self: ADDR.nodeB, gw: ADDR.podGwB, peer: ADDR.nodeA, peerPods: ADDR.podCidrA };
        lines.push(
          'echo 1 > /proc/sys/net/ipv4/ip_forward',
          `ip addr add ${a.self}/24 dev ${IFACE.uplink}`,
          `ip link set ${IFACE.uplink} up`,
          `ip addr add ${a.gw}/24 dev ${IFACE.nodePodVeth}`,
          `ip link set ${IFACE.nodePodVeth} up`,
          // host-gw: the other node's pod CIDR is reached through that node's lan address.
          `ip route add ${a.peerPods} via ${a.peer}`,
          // A node's own connect() to a service IP is routed *before* nat OUTPUT rewrites it:
          // without some route covering 198.18.64.0/18 it fails with ENETUNREACH. Real nodes
          // have a default route; an on-link one needs no gateway to exist.
          `ip route add default dev ${IFACE.uplink}`,
        );
        if (role === 'nodeA' && this.opts.nodeLocalDns) {
          lines.push(
            // Like the add-on: a dummy device. Minimal kernels may lack the dummy driver; an
            // empty bridge is an equally passive holder for a local address.
            `ip link add ${IFACE.nodeLocalDns} type dummy 2>/dev/null || ip link add ${IFACE.nodeLocalDns} type bridge`,
            `ip addr add ${ADDR.nodeLocalDns}/32 dev ${IFACE.nodeLocalDns}`,
            `ip link set ${IFACE.nodeLocalDns} up`,
          );
        }
        break;
      }
      case 'ext':
        lines.push(
          `ip addr add ${ADDR.extDns}/24 dev ${IFACE.uplink}`,
          `ip addr add ${ADDR.extUndeclared}/24 dev ${IFACE.uplink}`,
          `ip link set ${IFACE.uplink} up`,
          // No masquerading anywhere: ext answers pods directly through their node.
          `ip route add ${ADDR.podCidrA} via ${ADDR.nodeA}`,
          `ip route add ${ADDR.podCidrB} via ${ADDR.nodeB}`,
        );
        break;
      case 'podA':
      case 'podB': {
        const [self, gw] = role === 'podA' ? [ADDR.podA, ADDR.podGwA] : [ADDR.podB, ADDR.podGwB];
        lines.push(
          `ip addr add ${self}/24 dev ${IFACE.podEth}`,
          `ip link set ${IFACE.podEth} up`,
          `ip route add default via ${gw}`,
        );
        break;
      }
    }
    return lines.join('\n');
  }

  /** What kube-proxy (iptables mode) and NodeLocal DNSCache would have installed on a node. */
  private applyKubeProxyRules(role: 'nodeA' | 'nodeB'): Promise<ExecResult> {
    const rules = kubeProxyStandInRules(ADDR.clusterDns, ADDR.podB);
    if (role === 'nodeA' && this.opts.nodeLocalDns) {
      const skip = '-m comment --comment "NodeLocal DNS Cache: skip conntrack" -j NOTRACK';
      const notrack: string[] = [];
      for (const chain of ['PREROUTING', 'OUTPUT']) {
        for (const proto of ['udp', 'tcp']) {
          notrack.push(`-A ${chain} -d ${ADDR.nodeLocalDns}/32 -p ${proto} -m ${proto} --dport 53 ${skip}`);
          notrack.push(`-A ${chain} -s ${ADDR.nodeLocalDns}/32 -p ${proto} -m ${proto} --sport 53 ${skip}`);
        }
      }
      rules.push('*raw', ...notrack, 'COMMIT');
    }
    // --noflush like kube-proxy; -w because the legacy xtables lock is shared by all namespaces.
    return this.execOk(role, `${this.iptables}-restore -w --noflush`, { input: rules.join('\n') + '\n' });
  }

  private async startResponders(): Promise<void> {
    const starts = (Object.keys(LISTEN_ADDRS) as Array<keyof typeof LISTEN_ADDRS>).map((role) => {
      const specs: string[] = [];
      // podA serves no DNS: that keeps port 53 free there, so podA can also pose as a "DNS
      // reply" over TCP (a port with a TCP listener cannot be bound as a client's source port).
      const serves = (port: number) => port !== 53 || role !== 'podA';
      for (const address of LISTEN_ADDRS[role]) {
        for (const port of this.udpPorts.filter(serves)) specs.push(`udp:${address}:${port}`);
        for (const port of this.tcpPorts.filter(serves)) specs.push(`tcp:${address}:${port}`);
      }
      if (role === 'nodeA' && this.opts.nodeLocalDns) {
        specs.push(`udp:${ADDR.nodeLocalDns}:53`, `tcp:${ADDR.nodeLocalDns}:53`);
      }
      return NetnsAgent.start(this.ns(role), ['server', ...specs]);
    });
    const started = await Promise.allSettled(starts);
    for (const s of started) if (s.status === 'fulfilled') this.servers.push(s.value);
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
  }
}

function uniquePorts(ports: readonly number[]): number[] {
  return [...new Set(ports)];
}
