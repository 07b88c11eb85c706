// Every ratio the benchmark prints, its target, and the line format. The smoke test reads
// expectedRatioKeys() from here, so a ratio added to a phase is checked without editing the test.
import { PROFILE_NAMES } from '../test/util/synth';

export const BACKENDS = ['iptables', 'nftables'] as const;
export type Backend = (typeof BACKENDS)[number];

/**
 * Policies measured against "no firewall"; the bench's own iperf3 allows are in all. `1000-cidrs`: the
 * flow has its own allow and misses the big set; `1000-cidrs-in-list`: the flow's only allow is the
 * big set (the server's /24 is one of its 1,000 entries), so every datagram pays the lookup.
 */
export const POLICIES = ['default', '1000-cidrs', '1000-cidrs-in-list'] as const;
export type PolicyVariant = (typeof POLICIES)[number];

/**
 * Throughput tests. `udp-untracked` is the worst case: the node's raw table marks the flow NOTRACK,
 * so no packet ever matches the conntrack "replies" shortcut and every one walks the whole chain.
 */
export const FLOWS = ['tcp', 'udp', 'udp-untracked'] as const;
export type Flow = (typeof FLOWS)[number];

/** Item kinds whose count scales the synth (a second kind, e.g. compartmentWorkloads, goes in synth-time.ts ITEM_KINDS). */
export const SCALE_KINDS = ['exemptions'] as const;

export const APPLY_KINDS = ['first', 'reapply'] as const;

/** Ways the agent's rules are broken by hand in the drift measurement (bench/agent.ts). */
export const DRIFT_BREAKS = ['flush', 'remove'] as const;

export interface Target {
  readonly op: '>=' | '<=';
  readonly bound: number;
}

export interface Ratio {
  readonly key: string;
  readonly value: number;
  /** Undefined for informational ratios. */
  readonly target?: Target;
  /** One line: numerator and denominator with units. */
  readonly detail: string;
}

export const THROUGHPUT_TARGET: Target = { op: '>=', bound: 0.95 };
export const APPLY_TARGET: Target = { op: '<=', bound: 2 };
export const SYNTH_TARGET: Target = { op: '<=', bound: 1.5 };
export const SCALE_TARGET: Target = { op: '<=', bound: 12 };
/** Seconds from a break to our rules back (issue 8): not a ratio, a figure with a bound. */
export const DRIFT_TARGET: Target = { op: '<=', bound: 15 };
/** The idle agent's CPU, % of one core (issue 8). */
export const CPU_TARGET: Target = { op: '<=', bound: 0.2 };

export const throughputKey = (flow: Flow, backend: Backend, policy: PolicyVariant) => `throughput.${flow}.${backend}.${policy}`;
/** UDP with the legacy iptables tables apply.sh's flavour detection creates, against a node without them (info). */
export const LEGACY_TABLES_KEY = 'throughput.udp.legacy-tables';
export const throughputTarget = (policy: PolicyVariant): Target | undefined => (policy === 'default' ? undefined : THROUGHPUT_TARGET);
export const applyKey = (backend: Backend, kind: (typeof APPLY_KINDS)[number]) => `apply.${backend}.${kind}`;
/** The target holds for the first apply and the re-apply (against the bare load and the bare load again). */
export const applyTarget = (_kind: (typeof APPLY_KINDS)[number]): Target | undefined => APPLY_TARGET;
export const synthKey = (profile: string) => `synth.${profile}`;
/** `node lib/main.js`, the unbundled compiled app, for the default profile (info). */
export const SYNTH_LIB_MAIN_KEY = 'synth.k2s.lib-main';
export const scaleKey = (kind: string) => `scale.${kind}`;
/** (t(large) - t(0)) / (t(small) - t(0)) (info): the growth without the constant part. */
export const scaleMarginalKey = (kind: string) => `scale.${kind}.marginal`;

/** Request/response round trips (sockperf ping-pong): forwarded to an off-node server, or to the node itself. */
export const LATENCY_TESTS = ['udp-forward', 'udp-node', 'tcp-forward', 'tcp-node'] as const;
export type LatencyTest = (typeof LATENCY_TESTS)[number];
export const PERCENTILES = ['p50', 'p99'] as const;
export type Percentile = (typeof PERCENTILES)[number];
export const LATENCY_TARGET: Target = { op: '<=', bound: 1.05 };
export const latencyKey = (test: LatencyTest, backend: Backend, pct: Percentile) => `latency.${test}.${backend}.${pct}`;

/** The scale phase (bench/scale.ts): exempted CIDRs per tier; the key names the full run's count. */
export const SCALE_TIERS = ['1k', '10k', '100k'] as const;
export type ScaleTier = (typeof SCALE_TIERS)[number];
/** Tiers whose per-packet cost and apply time are measured (1k is the throughput/latency/apply phases). */
export const SCALE_BIG_TIERS = ['10k', '100k'] as const;
export type ScaleBigTier = (typeof SCALE_BIG_TIERS)[number];
/** The big exemption as one list of destinations, or the same with a destination port list. */
export const SCALE_VARIANTS = ['cidrs', 'cidrs-ports'] as const;
export type ScaleVariant = (typeof SCALE_VARIANTS)[number];
/** Per-packet flows at scale: the tracked and the worst case (tcp never consults the set). */
export const SCALE_FLOWS = ['udp', 'udp-untracked'] as const;
/** Latency tests at scale: the ones the policy governs (UDP). */
export const SCALE_LATENCY_TESTS = ['udp-forward', 'udp-node'] as const;
/** t(10k)/t(1k) and t(100k)/t(10k), in-process synth. */
export const scaleSynthKey = (variant: ScaleVariant, step: '10k-vs-1k' | '100k-vs-10k') => `scale.synth.${variant}.${step}`;
/** Bytes of the Linux scripts ConfigMap as a fraction of Kubernetes' 1 MiB object limit (info). */
export const scaleConfigMapKey = (backend: Backend, tier: ScaleTier) => `scale.configmap-mib.${backend}.${tier}`;
export const scaleApplyKey = (backend: Backend, tier: ScaleBigTier, kind: (typeof APPLY_KINDS)[number]) => `scale.apply.${backend}.${tier}.${kind}`;
export const scaleThroughputKey = (flow: ScaleThroughputFlow, backend: Backend, tier: ScaleBigTier) => `scale.throughput.${flow}.${backend}.${tier}`;
/** Untracked UDP whose only allow is the big list (its server's /28 is one of the entries): every datagram pays the lookup. */
export const SCALE_IN_LIST_FLOW = 'udp-untracked-in-list';
export const SCALE_THROUGHPUT_FLOWS = [...SCALE_FLOWS, SCALE_IN_LIST_FLOW] as const;
export type ScaleThroughputFlow = (typeof SCALE_THROUGHPUT_FLOWS)[number];
export const scaleLatencyKey = (test: (typeof SCALE_LATENCY_TESTS)[number], backend: Backend, tier: ScaleBigTier, pct: Percentile) =>
  `scale.latency.${test}.${backend}.${tier}.${pct}`;
/** Windows: firewall rules apply.ps1 creates, and its size in KiB (info). */
export const scaleWindowsKey = (tier: ScaleTier, what: 'rules' | 'apply-ps1-kib') => `scale.windows.${tier}.${what}`;

export const driftKey = (backend: Backend, kind: (typeof DRIFT_BREAKS)[number]) => `agent.drift-repair-seconds.${backend}.${kind}`;
export const agentCpuKey = (backend: Backend) => `agent.idle-cpu-percent.${backend}`;

/** Every ratio key one run prints, in print order. */
export function expectedRatioKeys(): string[] {
  const keys: string[] = [];
  for (const flow of FLOWS) for (const backend of BACKENDS) for (const policy of POLICIES) keys.push(throughputKey(flow, backend, policy));
  keys.push(LEGACY_TABLES_KEY);
  for (const backend of BACKENDS) for (const kind of APPLY_KINDS) keys.push(applyKey(backend, kind));
  for (const profile of PROFILE_NAMES) keys.push(synthKey(profile));
  keys.push(SYNTH_LIB_MAIN_KEY);
  for (const kind of SCALE_KINDS) keys.push(scaleKey(kind), scaleMarginalKey(kind));
  for (const test of LATENCY_TESTS) for (const backend of BACKENDS) for (const pct of PERCENTILES) keys.push(latencyKey(test, backend, pct));
  for (const variant of SCALE_VARIANTS) keys.push(scaleSynthKey(variant, '10k-vs-1k'), scaleSynthKey(variant, '100k-vs-10k'));
  for (const backend of BACKENDS) for (const tier of SCALE_TIERS) keys.push(scaleConfigMapKey(backend, tier));
  for (const backend of BACKENDS) {
    for (const tier of SCALE_BIG_TIERS) for (const kind of APPLY_KINDS) keys.push(scaleApplyKey(backend, tier, kind));
  }
  for (const flow of SCALE_THROUGHPUT_FLOWS) {
    for (const backend of BACKENDS) for (const tier of SCALE_BIG_TIERS) keys.push(scaleThroughputKey(flow, backend, tier));
  }
  for (const test of SCALE_LATENCY_TESTS) {
    for (const backend of BACKENDS) {
      for (const tier of SCALE_BIG_TIERS) for (const pct of PERCENTILES) keys.push(scaleLatencyKey(test, backend, tier, pct));
    }
  }
  for (const tier of SCALE_TIERS) keys.push(scaleWindowsKey(tier, 'rules'), scaleWindowsKey(tier, 'apply-ps1-kib'));
  for (const backend of BACKENDS) keys.push(agentCpuKey(backend), ...DRIFT_BREAKS.map((kind) => driftKey(backend, kind)));
  return keys;
}

export function passes(ratio: Ratio): boolean | undefined {
  if (!ratio.target) return undefined;
  return ratio.target.op === '>=' ? ratio.value >= ratio.target.bound : ratio.value <= ratio.target.bound;
}

/** `RATIO <key> = <value> [target <= 2: PASS] <detail>`: one line per ratio, greppable. */
export function ratioLine(ratio: Ratio): string {
  const verdict = ratio.target ? `[target ${ratio.target.op} ${ratio.target.bound}: ${passes(ratio) ? 'PASS' : 'MISS'}]` : '[info]';
  return `RATIO ${ratio.key} = ${ratio.value.toFixed(3)} ${verdict} ${ratio.detail}`;
}

/** How far a missed target is off, in words: "0.91 is 4.2% below 0.95". */
export function missBy(ratio: Ratio): string {
  if (!ratio.target || passes(ratio)) return '';
  const off = Math.abs(ratio.value - ratio.target.bound) / ratio.target.bound * 100;
  return `${ratio.value.toFixed(3)} is ${off.toFixed(1)}% ${ratio.target.op === '>=' ? 'below' : 'above'} ${ratio.target.bound}`;
}
