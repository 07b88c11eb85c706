// Request/response latency through the node, with and without our policy: sockperf ping-pong
// (UDP and TCP, one message in flight, round-trip times), p50 and p99.
//
// The topology is the throughput phase's (bench/throughput.ts Topology), two of them side by side:
//
//   client ns (a pod)          node ns (ip_forward, kube-proxy stand-in, apply.sh)        server ns
//   sockperf ping-pong ---->   198.19.1.1 | 198.18.0.1  sockperf server (node tests) ---> 198.18.0.80
//   (CPU 0)                    "forward" tests are routed through it                      sockperf server (CPU 1)
//
// "forward": pod -> off-node server, every packet crosses the node's FORWARD hook both ways.
// "node": pod -> the node's own address, requests cross INPUT, replies OUTPUT.
// Both clients run AT THE SAME TIME on the same CPU, the "test" node holding the policy, the "base"
// node none; A and B swap roles every round, and an A/A pair (no policy on either) is the control.
import { ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BenchOptions, median, nsSh, progress, run } from './common';
import { BENCH_ADDR, BULK_COUNT, SOCKPERF_PORT, Scripts, latencyDenyScripts, latencyScripts } from './policies';
import { BACKENDS, Backend, LATENCY_TARGET, LATENCY_TESTS, LatencyTest, PERCENTILES, Percentile, Ratio, latencyKey } from './ratios';
import { FirewallConfig, NONE, PIN, THROUGHPUT_TOPOLOGIES, Topology } from './throughput';

/** What policy controllers add per packet, as the issue quotes it (K2s design), µs. */
export const CONTROLLER_ADDED_US = '100 µs–2 ms';

/** One sockperf ping-pong run of one topology. */
export interface LatencySample {
  /** Round-trip time percentiles, µs (sockperf --full-rtt). */
  readonly p50: number;
  readonly p99: number;
  readonly observations: number;
  /** Messages sent and replies received over the whole run, warm-up included. */
  readonly sent: number;
  readonly received: number;
  /** iptables backend: packets each rule of the chain the flow crosses matched, by rule comment. */
  readonly ruleHits?: Record<string, number>;
}

export interface LatencyPair {
  readonly test: LatencySample;
  readonly base: LatencySample;
  readonly testTopology: 'a' | 'b';
}

export interface LatencyResult {
  readonly ratios: Ratio[];
  /** By configuration key ('none' is the A/A control), test, one pair per round. */
  readonly pairs: Record<string, Record<LatencyTest, LatencyPair[]>>;
  readonly reps: number;
  readonly seconds: number;
  /** Per backend: replies the UDP flows got from a node whose policy lacks their allow (must be 0). */
  readonly denied: Record<Backend, Record<'udp-forward' | 'udp-node', number>>;
  /** Whether the tests of a round ran one at a time (full) or together (smoke, to stay short). */
  readonly concurrent: boolean;
}

const protocolOf = (test: LatencyTest) => (test.startsWith('tcp') ? 'tcp' : 'udp');
const targetOf = (test: LatencyTest) => (test.endsWith('forward') ? 'forward' : 'node');
/** The chain of ours each test's requests cross on the node. */
export const chainOf = (test: LatencyTest) => (targetOf(test) === 'forward' ? 'HOSTNET-FORWARD' : 'HOSTNET-INPUT');

/** The sockperf servers of one topology: UDP and TCP, on the server (forward) and on the node. */
export class LatencyServers {
  private children: ChildProcess[] = [];
  private stderr = '';

  constructor(private readonly topology: Topology) {}

  async start(): Promise<void> {
    const where = [[this.topology.ns.server, BENCH_ADDR.server], [this.topology.ns.node, BENCH_ADDR.node]] as const;
    for (const [ns, addr] of where) {
      for (const tcp of [false, true]) {
        const child = spawn('ip', ['netns', 'exec', ns, ...PIN.server.length ? ['taskset', '-c', '1'] : [],
          'sockperf', 'server', '-i', addr, '-p', String(SOCKPERF_PORT), ...(tcp ? ['--tcp'] : [])], { stdio: ['ignore', 'ignore', 'pipe'] });
        child.stderr!.setEncoding('utf8').on('data', (d: string) => { this.stderr += d; });
        this.children.push(child);
      }
      await this.waitListening(ns);
    }
  }

  private async waitListening(ns: string): Promise<void> {
    for (let i = 0; i < 100; i++) {
      const udp = (await run('ip', ['netns', 'exec', ns, 'ss', '-Hlun', `sport = :${SOCKPERF_PORT}`])).stdout.trim();
      const tcp = (await run('ip', ['netns', 'exec', ns, 'ss', '-Hltn', `sport = :${SOCKPERF_PORT}`])).stdout.trim();
      if (udp !== '' && tcp !== '') return;
      if (this.children.some((c) => c.exitCode !== null)) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`sockperf servers did not start in ${ns}: ${this.stderr.trim()}`);
  }

  async stop(): Promise<void> {
    const children = this.children;
    this.children = [];
    await Promise.all(children.map((child) => {
      if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGKILL');
      return gone;
    }));
  }
}

/** Runs one sockperf client from the topology's pod; `allowEmpty` for the deny check (no replies expected). */
export async function pingPong(topology: Topology, test: LatencyTest, seconds: number, allowEmpty = false): Promise<LatencySample> {
  const addr = targetOf(test) === 'forward' ? BENCH_ADDR.server : BENCH_ADDR.node;
  const args = ['netns', 'exec', topology.ns.client, ...PIN.client.length ? ['taskset', '-c', '0'] : [],
    'sockperf', 'ping-pong', '-i', addr, '-p', String(SOCKPERF_PORT), '-t', String(seconds), '--full-rtt', ...(protocolOf(test) === 'tcp' ? ['--tcp'] : [])];
  const result = await run('ip', args, { timeoutMs: (seconds + 20) * 1000 });
  const out = result.stdout + result.stderr;
  const num = (re: RegExp) => {
    const m = re.exec(out);
    return m ? Number(m[1]) : undefined;
  };
  const sent = num(/\[Total Run\].*SentMessages=(\d+)/);
  const received = num(/\[Total Run\].*ReceivedMessages=(\d+)/);
  const p50 = num(/percentile 50\.000 =\s*([\d.]+)/);
  const p99 = num(/percentile 99\.000 =\s*([\d.]+)/);
  const observations = num(/Total (\d+) observations/);
  const where = `sockperf ${test} on ${topology.name}`;
  if (allowEmpty) {
    // sockperf prints no totals when nothing came back, only this line
    if (/No messages were received from the server/.test(out)) return { p50: NaN, p99: NaN, observations: 0, sent: NaN, received: 0 };
    if (sent === undefined) throw new Error(`${where} printed no totals (exit ${result.code}): ${out.trim().slice(-600)}`);
    return { p50: p50 ?? NaN, p99: p99 ?? NaN, observations: observations ?? 0, sent, received: received ?? 0 };
  }
  if (result.code !== 0 || sent === undefined || received === undefined || p50 === undefined || p99 === undefined || !observations) {
    throw new Error(`${where} failed (exit ${result.code}): ${out.trim().slice(-800)}`);
  }
  // a lost request stalls sockperf for its timeout and would show as latency: there must be none
  if (received < sent * 0.999) throw new Error(`${where}: ${received} replies to ${sent} requests: the flow is being dropped`);
  return { p50, p99, observations, sent, received };
}

/**
 * The tests `tests` once on `test` (holding `config`) and on `base` (none), at the same time.
 * iptables: every packet of the flows must have entered our chain (rule counters).
 */
export async function measureLatencyPair(seconds: number, tests: readonly LatencyTest[], config: FirewallConfig, test: Topology, base: Topology):
Promise<Record<string, LatencyPair>> {
  const counted = config.backend === 'iptables';
  const chains = [...new Set(tests.map(chainOf))];
  if (counted) for (const chain of chains) await nsSh(test.ns.node, `iptables-nft -w -Z ${chain}`, 'zeroing counters');
  const runs = await Promise.all(tests.flatMap((t) => [pingPong(test, t, seconds), pingPong(base, t, seconds)]));
  const out: Record<string, LatencyPair> = {};
  const hitsByChain: Record<string, Record<string, number>> = {};
  if (counted) for (const chain of chains) hitsByChain[chain] = await test.ruleHits(chain);
  const expected: Record<string, number> = {};
  tests.forEach((t, i) => {
    const sample = runs[2 * i];
    // forward: requests and replies both cross FORWARD; node: requests cross INPUT. TCP: at least one
    // segment per reply (segments and messages need not map one to one)
    const packets = protocolOf(t) === 'udp' ? (targetOf(t) === 'forward' ? sample.sent + sample.received : sample.sent) : sample.received;
    expected[chainOf(t)] = (expected[chainOf(t)] ?? 0) + packets;
    out[t] = { test: { ...sample, ruleHits: hitsByChain[chainOf(t)] }, base: runs[2 * i + 1], testTopology: test.name };
  });
  for (const chain of chains) {
    if (!counted) continue;
    const entered = Object.values(hitsByChain[chain]).reduce((a, b) => a + b, 0);
    if (entered < expected[chain] * 0.99) {
      throw new Error(`latency ${config.key} ${tests.join('+')}: only ${entered} packets entered ${chain} for ~${expected[chain]} sent: ${JSON.stringify(hitsByChain[chain])}`);
    }
  }
  return out;
}

/** Writes apply.sh/remove.sh of a policy into tmp and names the configuration. */
export function firewallConfig(tmp: string, key: string, backend: Backend, policy: string, scripts: Scripts): FirewallConfig {
  const applyFile = join(tmp, `lat-${key}-apply.sh`);
  const removeFile = join(tmp, `lat-${key}-remove.sh`);
  writeFileSync(applyFile, scripts.apply);
  writeFileSync(removeFile, scripts.remove);
  return { key, backend, policy, applyFile, removeFile };
}

/**
 * The UDP latency flows with the policy minus their allows: no reply may come back. Proves the
 * measured packets cross our rules on this backend (nftables has no per-rule counters to read).
 */
export async function checkDenied(topology: Topology, config: FirewallConfig): Promise<Record<'udp-forward' | 'udp-node', number>> {
  await topology.switchTo(config);
  const [forward, node] = await Promise.all([pingPong(topology, 'udp-forward', 1, true), pingPong(topology, 'udp-node', 1, true)]);
  await topology.switchTo(NONE);
  const denied = { 'udp-forward': forward.received, 'udp-node': node.received };
  if (forward.received > 0 || node.received > 0) {
    throw new Error(`latency deny check (${config.key}): without their allows the UDP flows still got replies: ${JSON.stringify({ forward, node })}`);
  }
  return denied;
}

export async function measureLatency(opts: BenchOptions, tmp: string): Promise<LatencyResult> {
  const seconds = opts.latencySeconds;
  const configs: FirewallConfig[] = [NONE];
  const denyConfigs = {} as Record<Backend, FirewallConfig>;
  for (const backend of BACKENDS) {
    configs.push(firewallConfig(tmp, `${backend}.${BULK_COUNT}-cidrs`, backend, `${BULK_COUNT}-cidrs`, latencyScripts(backend, BULK_COUNT)));
    denyConfigs[backend] = firewallConfig(tmp, `${backend}.deny`, backend, 'deny', latencyDenyScripts(backend));
  }
  const pairs = Object.fromEntries(configs.map((c) => [c.key, Object.fromEntries(LATENCY_TESTS.map((t) => [t, [] as LatencyPair[]]))])) as LatencyResult['pairs'];
  const topologies = THROUGHPUT_TOPOLOGIES.map((name) => new Topology(name));
  const servers = topologies.map((t) => new LatencyServers(t));
  const denied = {} as LatencyResult['denied'];
  // the smoke run measures the four tests of a round together: its numbers are not kept
  const batches: LatencyTest[][] = opts.smoke ? [[...LATENCY_TESTS]] : LATENCY_TESTS.map((t) => [t]);
  try {
    for (const t of topologies) {
      await t.build();
      // the throughput phase measures under the same legacy tables
      await t.prepareLegacyTables();
    }
    for (const s of servers) await s.start();
    // one backend per topology, at the same time: 2 s instead of 4
    const deniedRuns = await Promise.all(BACKENDS.map((backend, i) => checkDenied(topologies[i % topologies.length], denyConfigs[backend])));
    BACKENDS.forEach((backend, i) => { denied[backend] = deniedRuns[i]; });
    for (const [bi, batch] of batches.entries()) {
      for (let round = 0; round < opts.throughputReps; round++) {
        const [test, base] = round % 2 === 0 ? topologies : [...topologies].reverse();
        const order = (round + bi) % 2 === 0 ? configs : [...configs].reverse();
        for (const config of order) {
          progress(`latency ${batch.join('+')} round ${round + 1}/${opts.throughputReps}: ${config.key} (policy on ${test.name})`);
          await test.switchTo(config);
          const measured = await measureLatencyPair(seconds, batch, config, test, base);
          for (const t of batch) pairs[config.key][t].push(measured[t]);
        }
        await test.switchTo(NONE);
      }
    }
  } finally {
    for (const s of servers) await s.stop();
    for (const t of topologies) await t.destroy();
  }

  const ratios: Ratio[] = [];
  for (const t of LATENCY_TESTS) {
    for (const backend of BACKENDS) {
      const rounds = pairs[`${backend}.${BULK_COUNT}-cidrs`][t];
      for (const pct of PERCENTILES) ratios.push(latencyRatio(latencyKey(t, backend, pct), rounds, pct, pairs.none[t]));
    }
  }
  return { ratios, pairs, reps: opts.throughputReps, seconds, denied, concurrent: opts.smoke };
}

/** test/base per round, median; the p99 line also carries the added µs and the controllers' figure. */
export function latencyRatio(key: string, rounds: LatencyPair[], pct: Percentile, control?: LatencyPair[]): Ratio {
  const perRound = rounds.map((p) => p.test[pct] / p.base[pct]);
  const added = median(rounds.map((p) => p.test[pct] - p.base[pct]));
  const range = `${Math.min(...perRound).toFixed(3)}–${Math.max(...perRound).toFixed(3)}`;
  const aa = control && control.length > 0 ? `; A/A control ${median(control.map((p) => p.test[pct] / p.base[pct])).toFixed(3)}` : '';
  return {
    key,
    value: median(perRound),
    target: LATENCY_TARGET,
    detail: `${pct} round trip with policy / without, side by side, median over ${perRound.length} rounds [${range}]: ` +
      `${median(rounds.map((p) => p.test[pct])).toFixed(1)} vs ${median(rounds.map((p) => p.base[pct])).toFixed(1)} µs, ` +
      `added ${added.toFixed(1)} µs${pct === 'p99' ? ` (policy controllers: ${CONTROLLER_ADDED_US})` : ''}${aa}`,
  };
}
