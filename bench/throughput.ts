// Forwarded throughput through one "node" namespace, with and without our policy.
//
// Two identical topologies, A and B, run side by side:
//
//   client ns (a pod)            node ns (ip_forward, kube-proxy stand-in,      server ns
//   198.19.1.2 --eth0/vethpod--  198.19.1.1 | 198.18.0.1, runs apply.sh)  --eth0/eth0-- 198.18.0.80
//   iperf3 -c (CPU 0)                                                                  iperf3 -s (CPU 1)
//
// Every benchmark packet crosses its node's FORWARD hook, where our chain/table sits. Each
// measurement runs both clients AT THE SAME TIME on the same CPU: the "test" node holds the policy
// under test, the "base" node none. Measured one after the other, throughput on this shared VM
// drifts by ±25% within seconds and a 5% effect drowns; measured together, both flows see the same
// machine and an A/A pair (no policy on either) agrees within ~1%. A and B swap roles every round.
import { ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { BenchOptions, NS_PREFIX, deleteNamespace, median, nsSh, progress, run } from './common';
import { BENCH_ADDR, IPERF_PORT, flowAllowOf, kubeProxyStandIn, throughputScripts } from './policies';
import { BACKENDS, Backend, FLOWS, Flow, LEGACY_TABLES_KEY, POLICIES, PolicyVariant, Ratio, throughputKey, throughputTarget } from './ratios';

export type FirewallKey = 'none' | `${Backend}.${PolicyVariant}`;

/** What a node namespace holds: nothing, or one synthesized policy (apply.sh/remove.sh files). */
export interface FirewallConfig {
  /** FirewallKey in this phase; other phases (latency, scale) name their own configurations. */
  readonly key: string;
  readonly backend?: Backend;
  readonly policy?: PolicyVariant | string;
  readonly applyFile?: string;
  readonly removeFile?: string;
}

/** One iperf3 run of one topology. */
export interface FlowSample {
  /** TCP: received; UDP: sent, i.e. forwarded (checked against the node's counter). */
  readonly bitsPerSecond: number;
  /** UDP: datagrams per second the node forwarded. */
  readonly packetsPerSecond?: number;
  /** UDP: what the server application received. */
  readonly deliveredBitsPerSecond?: number;
  readonly lostPercent?: number;
  /** iptables backend: packets the HOSTNET-FORWARD rules matched during this run, by rule comment. */
  readonly ruleHits?: Record<string, number>;
  /** CPU the iperf3 client got, % of one core (iperf3's host_total; includes softirq work done in its context). */
  readonly clientCpu: number;
}

/** Both flows of one simultaneous measurement. */
export interface Pair {
  readonly test: FlowSample;
  readonly base: FlowSample;
  /** Which topology held the policy. */
  readonly testTopology: 'a' | 'b';
}

export interface ThroughputResult {
  readonly ratios: Ratio[];
  /** Per configuration and flow, one pair per round; 'none' is the A/A control. */
  readonly pairs: Record<FirewallKey, Record<Flow, Pair[]>>;
  readonly reps: number;
  readonly tcpSeconds: number;
  readonly udpSeconds: number;
  /** The HOSTNET-FORWARD / forward chain of the 1,000-CIDR policy, per backend, as loaded. */
  readonly forwardChains: Record<Backend, string>;
  /** Legacy iptables tables instantiated in both nodes before measuring (see prepareLegacyTables). */
  readonly legacyTables: string;
  /** UDP pairs: A with those tables, B without, before B got them too. */
  readonly legacyPairs: Pair[];
}

/** One client/node/server chain of namespaces; the latency and scale phases reuse it. */
export class Topology {
  readonly ns: { client: string; node: string; server: string };
  private server?: ChildProcess;
  private serverStderr = '';
  active?: FirewallConfig;

  constructor(readonly name: 'a' | 'b') {
    this.ns = { client: `${NS_PREFIX}-${name}-cli`, node: `${NS_PREFIX}-${name}-node`, server: `${NS_PREFIX}-${name}-srv` };
  }

  get namespaces(): string[] {
    return Object.values(this.ns);
  }

  async build(): Promise<void> {
    await Promise.all(this.namespaces.map(deleteNamespace));
    const { client, node, server } = this.ns;
    const wiring = [
      'set -e',
      ...this.namespaces.map((ns) => `ip netns add ${ns}`),
      // veth ends are created inside their namespaces, so names never clash with the host's
      `ip -n ${node} link add vethpod type veth peer name eth0 netns ${client}`,
      `ip -n ${node} link add eth0 type veth peer name eth0 netns ${server}`,
    ].join('\n');
    const result = await run('sh', ['-c', wiring]);
    if (result.code !== 0) throw new Error(`building the throughput namespaces failed: ${result.stderr.trim()}`);
    await nsSh(node, [
      'set -e',
      'ip link set lo up',
      'echo 1 > /proc/sys/net/ipv4/ip_forward',
      `ip addr add ${BENCH_ADDR.podGateway}/24 dev vethpod`,
      'ip link set vethpod up',
      `ip addr add ${BENCH_ADDR.node}/24 dev eth0`,
      'ip link set eth0 up',
    ].join('\n'), 'configuring the node namespace');
    await nsSh(client, [
      'set -e',
      'ip link set lo up',
      `ip addr add ${BENCH_ADDR.client}/24 dev eth0`,
      'ip link set eth0 up',
      `ip route add default via ${BENCH_ADDR.podGateway}`,
    ].join('\n'), 'configuring the client namespace');
    await nsSh(server, [
      'set -e',
      'ip link set lo up',
      `ip addr add ${BENCH_ADDR.server}/24 dev eth0`,
      'ip link set eth0 up',
      `ip route add ${BENCH_ADDR.client.replace(/\.\d+$/, '.0')}/24 via ${BENCH_ADDR.node}`,
    ].join('\n'), 'configuring the server namespace');
    // -w: the xtables lock is shared by every namespace (other suites may be running)
    await nsSh(node, 'iptables-nft-restore -w --noflush', 'loading the kube-proxy stand-in', { input: kubeProxyStandIn() });
  }

  /**
   * apply.sh and remove.sh pick the iptables flavour like iptables-wrapper, by running
   * `ip{,6}tables-legacy-save -t mangle`, which instantiates the legacy mangle tables in the namespace:
   * from then on every packet also crosses their (empty) hooks. Done up front on both nodes, so
   * test and base differ only by the policy.
   */
  async prepareLegacyTables(): Promise<string> {
    const cmd = 'if command -v iptables-legacy-save >/dev/null; then iptables-legacy-save -t mangle; ip6tables-legacy-save -t mangle; fi >/dev/null 2>&1; ' +
      'echo "$(cat /proc/net/ip_tables_names 2>/dev/null | tr "\\n" " ")/ $(cat /proc/net/ip6_tables_names 2>/dev/null | tr "\\n" " ")"';
    return (await nsSh(this.ns.node, cmd, 'instantiating the legacy tables')).stdout.trim();
  }

  async switchTo(config: FirewallConfig): Promise<void> {
    if (this.active === config) return;
    if (this.active?.removeFile) await nsSh(this.ns.node, `sh ${this.active.removeFile}`, `remove.sh (${this.active.key})`);
    this.active = undefined;
    if (config.applyFile) await nsSh(this.ns.node, `HOSTNET_IPTABLES_MODE=auto sh ${config.applyFile}`, `apply.sh (${config.key})`);
    this.active = config;
  }

  async notrack(op: '-A' | '-D'): Promise<void> {
    for (const rule of NOTRACK_RULES) await nsSh(this.ns.node, `iptables-nft -w -t raw ${op} ${rule}`, `NOTRACK ${op}`);
  }

  async startServer(): Promise<void> {
    this.serverStderr = '';
    const child = spawn('ip', ['netns', 'exec', this.ns.server, 'iperf3', '-s', '-B', BENCH_ADDR.server, '-p', String(IPERF_PORT), ...PIN.server],
      { stdio: ['ignore', 'ignore', 'pipe'] });
    this.server = child;
    child.stderr!.setEncoding('utf8').on('data', (d: string) => { this.serverStderr += d; });
    for (let i = 0; i < 100; i++) {
      const { stdout } = await run('ip', ['netns', 'exec', this.ns.server, 'ss', '-Hltn', `sport = :${IPERF_PORT}`]);
      if (stdout.trim() !== '') return;
      if (child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`iperf3 server did not start in ${this.ns.server}: ${this.serverStderr.trim()}`);
  }

  async stopServer(): Promise<void> {
    const child = this.server;
    this.server = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await gone;
  }

  async destroy(): Promise<void> {
    await this.stopServer();
    await Promise.all(this.namespaces.map(deleteNamespace));
  }

  /** Packets the node sent out of its uplink (towards the server). */
  async txPackets(): Promise<number> {
    const { stdout, code, stderr } = await run('ip', ['-n', this.ns.node, '-s', '-j', 'link', 'show', 'eth0']);
    if (code !== 0) throw new Error(`reading the node's counters failed: ${stderr.trim()}`);
    return JSON.parse(stdout)[0].stats64.tx.packets;
  }

  async forwardChain(backend: Backend): Promise<string> {
    const cmd = backend === 'iptables' ? 'iptables-nft -w -S HOSTNET-FORWARD' : 'nft list chain inet hostnet forward';
    return (await nsSh(this.ns.node, cmd, 'listing the forward chain')).stdout.trim();
  }

  async forwardRuleHits(): Promise<Record<string, number>> {
    return this.ruleHits('HOSTNET-FORWARD');
  }

  /** iptables backend: packets each rule of one of our chains matched, by rule comment. */
  async ruleHits(chain: string): Promise<Record<string, number>> {
    const { stdout } = await nsSh(this.ns.node, `iptables-nft -w -L ${chain} -v -n -x`, 'reading counters');
    const hits: Record<string, number> = {};
    for (const line of stdout.split('\n').slice(2)) {
      const m = /^\s*(\d+)\s+\d+\s.*\/\* (\S+) \*\//.exec(line);
      if (m) hits[m[2]] = (hits[m[2]] ?? 0) + Number(m[1]);
    }
    return hits;
  }
}

export const THROUGHPUT_TOPOLOGIES = ['a', 'b'] as const;

/** NOTRACK for the benchmark flow (both directions) in the node's raw table, ahead of conntrack. */
const NOTRACK_RULES = [
  `PREROUTING -p udp -m udp --dport ${IPERF_PORT} -m comment --comment hostnet-bench-notrack -j NOTRACK`,
  `PREROUTING -p udp -m udp --sport ${IPERF_PORT} -m comment --comment hostnet-bench-notrack -j NOTRACK`,
];

/** Both clients on CPU 0 (they share it: that is the comparison), both servers on CPU 1. */
export const PIN = cpus().length >= 2 ? { client: ['-A', '0'], server: ['-A', '1'] } : { client: [], server: [] };

export const NONE: FirewallConfig = { key: 'none' };

export async function measureThroughput(opts: BenchOptions, tmp: string): Promise<ThroughputResult> {
  const configs: FirewallConfig[] = [NONE];
  for (const backend of BACKENDS) {
    for (const policy of POLICIES) {
      const key = `${backend}.${policy}` as FirewallKey;
      const scripts = throughputScripts(backend, policy);
      const applyFile = join(tmp, `tp-${backend}-${policy}-apply.sh`);
      const removeFile = join(tmp, `tp-${backend}-${policy}-remove.sh`);
      writeFileSync(applyFile, scripts.apply);
      writeFileSync(removeFile, scripts.remove);
      configs.push({ key, backend, policy, applyFile, removeFile });
    }
  }
  const pairs = Object.fromEntries(configs.map((c) => [c.key, Object.fromEntries(FLOWS.map((f) => [f, [] as Pair[]]))])) as ThroughputResult['pairs'];
  const forwardChains = {} as Record<Backend, string>;
  const topologies = THROUGHPUT_TOPOLOGIES.map((name) => new Topology(name));
  let legacyTables = '';
  const legacyPairs: Pair[] = [];
  try {
    for (const topology of topologies) {
      await topology.build();
      await topology.startServer();
    }
    // what the legacy tables alone cost (A has them, B not yet), then B gets them too
    const [a, b] = topologies;
    legacyTables = await a.prepareLegacyTables();
    for (let round = 0; round < opts.throughputReps; round++) {
      progress(`throughput udp round ${round + 1}/${opts.throughputReps}: legacy tables on a only`);
      legacyPairs.push(await measurePair(opts, 'udp', NONE, a, b));
    }
    await b.prepareLegacyTables();
    for (const flow of FLOWS) {
      const rounds = async () => {
        for (let round = 0; round < opts.throughputReps; round++) {
          // A and B swap roles every round, so neither topology is always the one with the policy;
          // the configuration order alternates, so none always runs first or last
          const [test, base] = round % 2 === 0 ? topologies : [...topologies].reverse();
          const order = (round + FLOWS.indexOf(flow)) % 2 === 0 ? configs : [...configs].reverse();
          for (const config of order) {
            progress(`throughput ${flow} round ${round + 1}/${opts.throughputReps}: ${config.key} (policy on ${test.name})`);
            await test.switchTo(config);
            if (config.policy === '1000-cidrs') forwardChains[config.backend!] ??= await test.forwardChain(config.backend!);
            pairs[config.key as FirewallKey][flow].push(await measurePair(opts, flow, config, test, base));
          }
          await test.switchTo(NONE);
        }
      };
      await (flow === 'udp-untracked' ? untracked(topologies, rounds) : rounds());
    }
  } finally {
    for (const topology of topologies) await topology.destroy();
  }

  const ratios: Ratio[] = [];
  const legacy = legacyPairs.map(pairRatio);
  ratios.push({
    key: LEGACY_TABLES_KEY,
    value: median(legacy),
    detail: `UDP, node with the legacy tables (${legacyTables}) / node without, side by side, median over ${legacy.length} rounds [${fmtRange(legacy)}]`,
  });
  for (const flow of FLOWS) {
    for (const backend of BACKENDS) {
      for (const policy of POLICIES) {
        const rounds = pairs[`${backend}.${policy}`][flow];
        const perRound = rounds.map(pairRatio);
        ratios.push({
          key: throughputKey(flow, backend, policy),
          value: median(perRound),
          target: throughputTarget(policy),
          detail: `median over ${perRound.length} rounds of (with policy / without, run side by side) [${fmtRange(perRound)}]; ` +
            `A/A control ${fmt3(median(pairs.none[flow].map(pairRatio)))}`,
        });
      }
    }
  }
  const { tcpSeconds, udpSeconds } = opts;
  return { ratios, pairs, reps: opts.throughputReps, forwardChains, tcpSeconds, udpSeconds, legacyTables, legacyPairs };
}

export function pairRatio(pair: Pair): number {
  return pair.test.bitsPerSecond / pair.base.bitsPerSecond;
}

/** Extra client CPU per datagram with the policy, ns: CPU share / packet rate, test minus base. */
export function extraNsPerPacket(pair: Pair): number {
  const nsPer = (s: FlowSample) => (s.clientCpu / 100) * 1e9 / (s.packetsPerSecond ?? NaN);
  return nsPer(pair.test) - nsPer(pair.base);
}

/** "min–max" of a list, 3 decimals. */
export function fmtRange(xs: number[]): string {
  return `${fmt3(Math.min(...xs))}–${fmt3(Math.max(...xs))}`;
}

const fmt3 = (x: number) => x.toFixed(3);

/** Runs `measure` with every topology's flow untracked (NOTRACK), and tracks it again after. */
export async function untracked<T>(topologies: readonly Topology[], measure: () => Promise<T>): Promise<T> {
  for (const t of topologies) await t.notrack('-A');
  try {
    return await measure();
  } finally {
    for (const t of topologies) await t.notrack('-D');
  }
}

export async function measurePair(opts: BenchOptions, flow: Flow, config: FirewallConfig, test: Topology, base: Topology): Promise<Pair> {
  for (let attempt = 1; ; attempt++) {
    try {
      const [t, b] = await Promise.all([
        measureFlow(opts, flow, config, test),
        measureFlow(opts, flow, NONE, base),
      ]);
      return { test: t, base: b, testTopology: test.name };
    } catch (error) {
      if (attempt >= 2) throw error;
      // an aborted test can leave iperf3's server busy: restart both and try once more
      progress(`retrying ${config.key} ${flow} after: ${(error as Error).message.split('\n')[0]}`);
      for (const t of [test, base]) {
        await t.stopServer();
        await t.startServer();
      }
    }
  }
}

async function measureFlow(opts: BenchOptions, flow: Flow, config: FirewallConfig, topology: Topology): Promise<FlowSample> {
  const udp = flow !== 'tcp';
  const seconds = udp ? opts.udpSeconds : opts.tcpSeconds;
  const countRules = config.backend === 'iptables';
  if (countRules) await nsSh(topology.ns.node, 'iptables-nft -w -Z HOSTNET-FORWARD', 'zeroing counters');
  const before = await topology.txPackets();
  const args = ['netns', 'exec', topology.ns.client, 'iperf3', '-c', BENCH_ADDR.server, '-p', String(IPERF_PORT),
    '-t', String(seconds), '-J', ...PIN.client, ...(udp ? ['-u', '-b', '0'] : [])];
  const result = await run('ip', args, { timeoutMs: (seconds + 15) * 1000 });
  const forwarded = (await topology.txPackets()) - before;
  const where = `${config.key} ${flow} on ${topology.name}`;
  let report: any;
  try {
    report = JSON.parse(result.stdout);
  } catch {
    throw new Error(`iperf3 ${where} printed no JSON (exit ${result.code}): ${result.stderr.trim() || result.stdout.slice(0, 300)}`);
  }
  if (result.code !== 0 || report.error) throw new Error(`iperf3 ${where} failed: ${report.error ?? result.stderr.trim()}`);
  const ruleHits = countRules ? await topology.forwardRuleHits() : undefined;
  const clientCpu: number = report.end.cpu_utilization_percent.host_total;
  if (!udp) return { bitsPerSecond: report.end.sum_received.bits_per_second, ruleHits, clientCpu };

  // Every datagram the client sent must have left the node: otherwise the policy (or anything
  // else) dropped the benchmark flow and the numbers would measure drops.
  const sent = (report.intervals as any[]).reduce((n, i) => n + i.sum.packets, 0);
  if (forwarded < sent * 0.99) {
    throw new Error(`${where}: the node forwarded ${forwarded} packets of the ${sent} UDP datagrams sent: the flow is being dropped`);
  }
  // The packet path this benchmark claims (iptables counters; the nft chain has the same order):
  // untracked, every datagram walks the chain to the flow's allow (past every deny and every cheaper
  // allow, src/policy/rule-order.ts): bench-iperf-udp, or in the in-list variant bench-bulk's set.
  const allow = flowAllowOf(config.policy);
  if (ruleHits && flow === 'udp-untracked' && (ruleHits[allow] ?? 0) < sent * 0.99) {
    throw new Error(`${where}: only ${ruleHits[allow] ?? 0} of ${sent} datagrams reached rule ${allow}: ${JSON.stringify(ruleHits)}`);
  }
  const s = report.end.sum_sent;
  return {
    bitsPerSecond: s.bits_per_second,
    packetsPerSecond: s.packets / s.seconds,
    deliveredBitsPerSecond: report.end.sum_received.bits_per_second,
    lostPercent: report.end.sum_received.lost_percent,
    ruleHits,
    clientCpu,
  };
}
