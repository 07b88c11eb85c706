// A test bench for many flows at once: one node namespace per scope, each with the firewall applied
// and an nft set after it (priority 100, after our chains, iptables' and nftables') that records the
// 5-tuple of every first packet that got through. A sender fires a batch of flows from any source
// address (IPv4: added as local routes where it runs; IPv6: ip_nonlocal_bind), the set says which arrived.
//
//   nodeIngress:  ci --veth-- ni   (ni holds each batch's destinations as local routes)
//   nodeEgress:         no --veth-- so   (no itself sends, from local routes of the batch's sources)
//   podForward:   cf --veth-- nf --veth-- sf   (nf routes between them)
// Optionally no and nf DNAT a Service IP as kube-proxy does; the set then sees the endpoint.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { deleteNamespace, nsExec, nsExecOk, run } from './netns';
import { mustParseCidr } from '../../src/policy/cidr';
import { TrafficScope } from '../../src/policy/protocol';

/** A flow's first packet as the bench sends it. */
export interface BenchFlow {
  readonly proto: 'udp' | 'tcp';
  readonly src: string;
  readonly dst: string;
  readonly sport: number;
  readonly dport: number;
  /** The destination after kube-proxy's DNAT, where the set sees it. @default dst */
  readonly dnatDst?: string;
}

/** A kube-proxy-like DNAT of a Service IP's udp and tcp port to one endpoint (nodeEgress and podForward). */
export interface BenchDnat {
  readonly service: string;
  readonly port: number;
  readonly endpoint: string;
}

/** Addresses of the bench's own links: no flow may use them. */
export const BENCH_LINKS = ['192.0.0.0/24', 'fdff:ffff::/32'].map(mustParseCidr);
/** Addresses a real packet cannot carry through these namespaces (martians, loopback, multicast, link-local). */
export const UNROUTABLE = ['0.0.0.0/8', '127.0.0.0/8', '169.254.0.0/16', '224.0.0.0/3', '::/8', 'fe00::/8', 'ff00::/8'].map(mustParseCidr);

const SENDER = path.join(__dirname, 'flow-sender.js');
const ROUTE_PROTO = 99;

interface Site {
  /** Where the firewall runs and the set records. */
  readonly node: string;
  /** Where the flows start. */
  readonly sender: string;
  readonly hook: 'input' | 'output' | 'forward';
}

export class FlowBench {
  static async create(prefix: string, dnat?: BenchDnat): Promise<FlowBench> {
    const bench = new FlowBench(prefix, dnat);
    await bench.destroy();
    try {
      await bench.build();
    } catch (error) {
      await bench.destroy();
      throw error;
    }
    return bench;
  }

  readonly sites: Record<TrafficScope, Site>;
  readonly dir: string;
  private readonly names: string[];

  private constructor(readonly prefix: string, readonly dnat?: BenchDnat) {
    const n = (role: string) => `${prefix}-${role}`;
    this.names = ['ci', 'ni', 'no', 'so', 'cf', 'nf', 'sf'].map(n);
    this.sites = {
      [TrafficScope.NODE_INGRESS]: { node: n('ni'), sender: n('ci'), hook: 'input' },
      [TrafficScope.NODE_EGRESS]: { node: n('no'), sender: n('no'), hook: 'output' },
      [TrafficScope.POD_FORWARD]: { node: n('nf'), sender: n('cf'), hook: 'forward' },
    };
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
  }

  /** The node namespaces, where the firewall goes. */
  get nodes(): string[] {
    return Object.values(this.sites).map((s) => s.node);
  }

  /** Runs a script (apply.sh, remove.sh) in every node namespace; throws with its stderr on failure. */
  async runEverywhere(script: string, env: Record<string, string>): Promise<void> {
    await Promise.all(this.nodes.map(async (ns) => {
      const vars = { HOSTNET_LOCK_DIR: path.join(this.dir, ns, 'lock'), XTABLES_LOCKFILE: path.join(this.dir, ns, 'xtables.lock'), ...env };
      fs.mkdirSync(path.join(this.dir, ns), { recursive: true });
      const result = await nsExec(ns, 'sh -s', { input: script, env: vars, timeoutMs: 60_000 });
      if (result.code !== 0) throw new Error(`script failed in ${ns} (exit ${result.code}): ${result.stderr.slice(-800)}`);
    }));
  }

  /**
   * Sends each flow's first packet in `scope` and says which got through. Flows run in batches whose
   * sources and destinations are disjoint (an address is a local source or a local destination,
   * never both), with connection tracking flushed in between: no flow is ever a reply of another.
   */
  async send(scope: TrafficScope, flows: BenchFlow[]): Promise<boolean[]> {
    const site = this.sites[scope];
    const arrived: boolean[] = new Array(flows.length).fill(false);
    const all = batches(flows);
    for (const batch of all) {
      const sources = [...new Set(batch.map((i) => flows[i].src))];
      const destinations = [...new Set(batch.map((i) => flows[i].dst))];
      try {
        // IPv4 sends only from a local address; IPv6 binds any with ip_nonlocal_bind (set in build)
        const routes = (ns: string, addresses: string[]) => (addresses.length === 0 ? '' : `ip -n ${ns} -batch - <<'EOF'\n${addresses
          .map((a) => `route add local ${a}/${a.includes(':') ? 128 : 32} dev lo table local proto ${ROUTE_PROTO}`).join('\n')}\nEOF\n`);
        await nsExecOk(undefined, [routes(site.sender, sources.filter((a) => !a.includes(':'))),
          scope === TrafficScope.NODE_INGRESS ? routes(site.node, destinations) : '',
          `ip netns exec ${site.node} sh -c 'conntrack -F >/dev/null 2>&1; nft flush set inet probe seen4; nft flush set inet probe seen6'`].join(''));
        const sent = await run('ip', ['netns', 'exec', site.sender, process.execPath, SENDER], { input: JSON.stringify(batch.map((i) => flows[i])), timeoutMs: 120_000 });
        if (sent.code !== 0) throw new Error(`flow-sender failed in ${site.sender}: ${sent.stderr}`);
        const report = JSON.parse(sent.stdout) as { sent: number; errors: string[] };
        if (report.errors.length) throw new Error(`flow-sender could not send ${report.errors.length} flows, e.g. ${report.errors.slice(0, 3).join('; ')}`);
        // the receiving side handles the last packets in softirq, after the sender returned
        await new Promise((resolve) => setTimeout(resolve, 50));
        const seen = await this.seen(site.node);
        for (const i of batch) arrived[i] = seen.has(key({ ...flows[i], dst: flows[i].dnatDst ?? flows[i].dst }));
      } finally {
        await nsExecOk(undefined, [site.sender, site.node].map((ns) =>
          `ip -n ${ns} -4 route flush table local proto ${ROUTE_PROTO}; ip -n ${ns} -6 route flush table local proto ${ROUTE_PROTO}`).join('\n'));
      }
    }
    return arrived;
  }

  async destroy(): Promise<void> {
    await Promise.all(this.names.map(deleteNamespace));
  }

  private async mac(ns: string, dev: string): Promise<string> {
    const { stdout } = await nsExecOk(undefined, `ip -n ${ns} -j link show ${dev}`);
    return JSON.parse(stdout)[0].address;
  }

  private async seen(ns: string): Promise<Set<string>> {
    const found = new Set<string>();
    const { stdout } = await nsExecOk(ns, 'nft -j list set inet probe seen4; echo; nft -j list set inet probe seen6');
    for (const text of stdout.split('\n').filter((l) => l.trim() !== '')) {
      const elems = (JSON.parse(text).nftables as any[]).find((o) => o.set)?.set.elem ?? [];
      for (const e of elems) {
        const [proto, src, dst, sport, dport] = e.concat ?? e.elem?.val?.concat;
        found.add(key({ proto, src, dst, sport, dport }));
      }
    }
    return found;
  }

  private async build(): Promise<void> {
    const [ci, ni, no, so, cf, nf, sf] = this.names;
    const links: [string, string, string, string, number][] = [
      // a, b, IPv4 /30 of a and b, IPv6 /64
      [ci, ni, '192.0.0.2', '192.0.0.1', 1],
      [no, so, '192.0.0.5', '192.0.0.6', 2],
      [cf, nf, '192.0.0.10', '192.0.0.9', 3],
      [nf, sf, '192.0.0.13', '192.0.0.14', 4],
    ];
    const lines = ['set -e', ...this.names.map((ns) => `ip netns add ${ns}`)];
    for (const [a, b, a4, b4, net] of links) {
      const ifA = b === sf ? 'veth1' : 'veth0';
      lines.push(`ip -n ${a} link add ${ifA} type veth peer name veth0 netns ${b}`,
        `ip -n ${a} addr add ${a4}/30 dev ${ifA}`, `ip -n ${b} addr add ${b4}/30 dev veth0`,
        `ip -n ${a} addr add fdff:ffff:${net}::1/64 dev ${ifA} nodad`, `ip -n ${b} addr add fdff:ffff:${net}::2/64 dev veth0 nodad`,
        `ip -n ${a} link set ${ifA} up`, `ip -n ${b} link set veth0 up`);
    }
    const via = (ns: string, v4: string, v6: string) => lines.push(`ip -n ${ns} route add default via ${v4}`, `ip -n ${ns} -6 route add default via ${v6}`);
    via(ci, '192.0.0.1', 'fdff:ffff:1::2');
    via(ni, '192.0.0.2', 'fdff:ffff:1::1');
    via(no, '192.0.0.6', 'fdff:ffff:2::2');
    via(cf, '192.0.0.9', 'fdff:ffff:3::2');
    via(nf, '192.0.0.14', 'fdff:ffff:4::2');
    via(sf, '192.0.0.13', 'fdff:ffff:4::1');
    for (const ns of this.names) {
      lines.push(`ip -n ${ns} link set lo up`,
        `ip netns exec ${ns} sh -c 'for f in /proc/sys/net/ipv4/conf/*/rp_filter; do echo 0 > $f; done'`);
    }
    for (const ns of [ci, no, cf]) lines.push(`ip netns exec ${ns} sh -c 'echo 1 > /proc/sys/net/ipv6/ip_nonlocal_bind'`);
    lines.push(`ip netns exec ${nf} sh -c 'echo 1 > /proc/sys/net/ipv4/ip_forward; echo 1 > /proc/sys/net/ipv6/conf/all/forwarding'`);
    await nsExecOk(undefined, lines.join('\n'), { timeoutMs: 60_000 });
    // permanent neighbours: a burst to an unresolved gateway would overflow its small queue and lose packets
    const neighbours: string[] = [];
    for (const [a, b, a4, b4, net] of links) {
      const ifA = b === sf ? 'veth1' : 'veth0';
      const macA = await this.mac(a, ifA);
      const macB = await this.mac(b, 'veth0');
      neighbours.push(`ip -n ${a} neigh replace ${b4} lladdr ${macB} dev ${ifA} nud permanent`,
        `ip -n ${a} neigh replace fdff:ffff:${net}::2 lladdr ${macB} dev ${ifA} nud permanent`,
        `ip -n ${b} neigh replace ${a4} lladdr ${macA} dev veth0 nud permanent`,
        `ip -n ${b} neigh replace fdff:ffff:${net}::1 lladdr ${macA} dev veth0 nud permanent`);
    }
    await nsExecOk(undefined, neighbours.join('\n'));
    for (const site of Object.values(this.sites)) {
      await nsExecOk(site.node, 'nft -f -', { input: probeTable(site.hook) });
    }
    if (this.dnat) {
      // as kube-proxy's nat rules do, before the filter hooks: in OUTPUT for the node's own packets,
      // in PREROUTING for the routed ones
      const { service, port, endpoint } = this.dnat;
      const rule = `ip daddr ${service} meta l4proto { udp, tcp } th dport ${port} dnat to ${endpoint}`;
      await nsExecOk(no, 'nft -f -', { input: `table ip kubeproxy {\n  chain out { type nat hook output priority -100; ${rule}; }\n}\n` });
      await nsExecOk(nf, 'nft -f -', { input: `table ip kubeproxy {\n  chain pre { type nat hook prerouting priority -100; ${rule}; }\n}\n` });
    }
  }
}

/** The set that records what passed, in a chain after every filter (priority 100). */
function probeTable(hook: string): string {
  const record = (ip: string, set: string) => [
    `meta nfproto ${ip === 'ip' ? 'ipv4' : 'ipv6'} meta l4proto udp add @${set} { meta l4proto . ${ip} saddr . ${ip} daddr . th sport . th dport }`,
    `meta nfproto ${ip === 'ip' ? 'ipv4' : 'ipv6'} tcp flags & (syn | ack) == syn add @${set} { meta l4proto . ${ip} saddr . ${ip} daddr . th sport . th dport }`,
  ];
  return `table inet probe {
  set seen4 { type inet_proto . ipv4_addr . ipv4_addr . inet_service . inet_service; size 65535; flags dynamic; }
  set seen6 { type inet_proto . ipv6_addr . ipv6_addr . inet_service . inet_service; size 65535; flags dynamic; }
  chain record {
    type filter hook ${hook} priority 100; policy accept;
    ${[...record('ip', 'seen4'), ...record('ip6', 'seen6')].join('\n    ')}
  }
}
`;
}

function key(f: { proto: string; src: string; dst: string; sport: number; dport: number }): string {
  return `${f.proto}|${mustParseCidr(f.src).first}|${mustParseCidr(f.dst).first}|${f.sport}|${f.dport}`;
}

/** Indices of `flows` in batches whose source set and destination set never share an address. */
function batches(flows: BenchFlow[]): number[][] {
  const result: { indices: number[]; sources: Set<string>; destinations: Set<string> }[] = [];
  flows.forEach((f, i) => {
    if (f.src === f.dst) throw new Error(`flow ${JSON.stringify(f)} has one address at both ends`);
    let batch = result.find((b) => !b.destinations.has(f.src) && !b.sources.has(f.dst));
    if (!batch) {
      batch = { indices: [], sources: new Set(), destinations: new Set() };
      result.push(batch);
    }
    batch.indices.push(i);
    batch.sources.add(f.src);
    batch.destinations.add(f.dst);
  });
  return result.map((b) => b.indices);
}
