// Every ratio the benchmark prints, its target, and the line format. The smoke test reads
// expectedRatioKeys() from here, so a ratio added to a phase is checked without editing the test.
import { PROFILE_NAMES } from '../test/util/synth';

export const BACKENDS = ['iptables', 'nftables'] as const;
export type Backend = (typeof BACKENDS)[number];

/** Policies measured against "no firewall"; the bench's own iperf3 allows are in both. */
export const POLICIES = ['default', '1000-cidrs'] as const;
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
export const throughputTarget = (policy: PolicyVariant): Target | undefined => (policy === '1000-cidrs' ? THROUGHPUT_TARGET : undefined);
export const applyKey = (backend: Backend, kind: (typeof APPLY_KINDS)[number]) => `apply.${backend}.${kind}`;
export const applyTarget = (kind: (typeof APPLY_KINDS)[number]): Target | undefined => (kind === 'first' ? APPLY_TARGET : undefined);
export const synthKey = (profile: string) => `synth.${profile}`;
/** `node lib/main.js`, the unbundled compiled app, for the default profile (info). */
export const SYNTH_LIB_MAIN_KEY = 'synth.k2s.lib-main';
export const scaleKey = (kind: string) => `scale.${kind}`;
/** (t(large) - t(0)) / (t(small) - t(0)) (info): the growth without the constant part. */
export const scaleMarginalKey = (kind: string) => `scale.${kind}.marginal`;

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
