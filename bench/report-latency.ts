// BENCHMARKS.md sections for the latency (section 6) and scale (section 7) phases.
import { LatencyResult, CONTROLLER_ADDED_US } from './latency';
import { BENCH_ADDR, SCALE_PORT_LIST, SOCKPERF_PORT } from './policies';
import {
  APPLY_KINDS, BACKENDS, LATENCY_TESTS, PERCENTILES, Ratio, SCALE_BIG_TIERS, SCALE_THROUGHPUT_FLOWS, SCALE_LATENCY_TESTS, SCALE_TIERS, SCALE_VARIANTS,
  latencyKey, missBy, passes, throughputKey, scaleApplyKey, scaleConfigMapKey, scaleLatencyKey, scaleSynthKey, scaleThroughputKey, scaleWindowsKey,
} from './ratios';
import { ANNOTATION_MAX_BYTES, ScalePhaseResult } from './scale';

type Get = (key: string) => Ratio;
type Put = (...lines: string[]) => void;

const cell = (r: Ratio) => `**${r.value.toFixed(3)}**${passes(r) === false ? ' MISS' : ''}`;
const addedUs = (r: Ratio) => /added (-?[\d.]+) µs/.exec(r.detail)?.[1] ?? '?';

export function renderLatency(l: LatencyResult, get: Get, p: Put): void {
  p('', '## 6. Request/response latency', '',
    `sockperf ping-pong (one message in flight, \`--full-rtt\`: round trips in µs) from the pod to port ${SOCKPERF_PORT} of the`,
    `off-node server (${BENCH_ADDR.server}: **forward**, every packet crosses FORWARD both ways) and of the node itself`,
    `(${BENCH_ADDR.node}: **node**, requests cross INPUT, replies OUTPUT), UDP and TCP. Topology and method are section 1's: two`,
    'topologies, both clients at the same time on CPU 0, servers on CPU 1, the test node holding the policy and the base',
    `node none, roles swapped every round, an A/A pair as control; ${l.reps} rounds of ${l.seconds} s (sockperf warms up for the first`,
    '0.4 s), median of the per-round ratios. The policy: the 1000-cidrs one of section 1 with `bench-bulk` in every scope',
    '(nodeIngress too) and two allows declared after it: `bench-sockperf-forward` (podForward) and `bench-sockperf-node`',
    '(nodeIngress). A round trip of a tracked flow takes the `replies` shortcut after its first packet, as real DNS and',
    'request/response traffic does; TCP is not governed by the policy.', '',
    `Checked: without their allows (same policy minus the two), the UDP flows got ${BACKENDS.map((b) => `${b} ${l.denied[b]['udp-forward']}/${l.denied[b]['udp-node']}`).join(', ')}`,
    'replies (forward/node): the measured packets cross our rules on both backends; on iptables every run also checks that',
    'every packet entered our chain (rule counters).', '',
    `| test | ${BACKENDS.flatMap((b) => PERCENTILES.map((pct) => `${b} ${pct}`)).join(' | ')} | added p99 µs (${BACKENDS.join(' / ')}) |`,
    `|---|${BACKENDS.flatMap(() => PERCENTILES.map(() => '---:')).join('|')}|---|`);
  for (const t of LATENCY_TESTS) {
    p(`| ${t} | ${BACKENDS.flatMap((b) => PERCENTILES.map((pct) => cell(get(latencyKey(t, b, pct))))).join(' | ')} | ` +
      `${BACKENDS.map((b) => addedUs(get(latencyKey(t, b, 'p99')))).join(' / ')} |`);
  }
  p('', `Added p99 is the median over rounds of (test p99 − base p99); policy controllers add ${CONTROLLER_ADDED_US} per packet (K2s design).`,
    'The A/A control of each test is in the ratio table\'s detail column.');
  misses(p, LATENCY_TESTS.flatMap((t) => BACKENDS.flatMap((b) => PERCENTILES.map((pct) => get(latencyKey(t, b, pct))))),
    'a tracked round trip costs the jump and the `replies` match per packet: a miss here is mostly p99 noise, read it against the A/A control');
}

export function renderScale(s: ScalePhaseResult, get: Get, p: Put): void {
  const c = s.counts;
  p('', '## 7. Scale: 1k → 10k → 100k exempted CIDRs', '',
    `One exemption \`bench-bulk\` with ${SCALE_TIERS.map((t) => c[t]).join(' / ')} destinations (non-adjacent /28s from 100.64.0.0/10,`,
    'so no dialect can merge them into fewer ranges), udp, every scope, declared before the',
    'benchmark\'s allows; `cidrs-ports` adds a destination port list (' + SCALE_PORT_LIST.join(', ') + ').', '',
    '### Synth time', '',
    'In-process with the compiled library: read the override file, build the charts, render every object and the YAML (what',
    `app.synth() does, without its validations, which refuse a ConfigMap over 1 MiB, and without writing files); median of ${s.synthRuns}.`, '',
    `| variant | ${SCALE_TIERS.map((t) => `${c[t]} ms`).join(' | ')} | t(10k)/t(1k) | t(100k)/t(10k) |`, '|---|---:|---:|---:|---:|---:|');
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  for (const v of SCALE_VARIANTS) {
    p(`| ${v} | ${SCALE_TIERS.map((t) => med(s.synthMs[v][t]).toFixed(0)).join(' | ')} | ${cell(get(scaleSynthKey(v, '10k-vs-1k')))} | ${cell(get(scaleSynthKey(v, '100k-vs-10k')))} |`);
  }
  p('', '### Manifest size', '',
    `The Linux scripts ConfigMap (keys plus values, as the refusal counts them) against Kubernetes' ${s.configMapMaxBytes} bytes (1 MiB) per object`,
    `and the ${ANNOTATION_MAX_BYTES} bytes (256 KiB) of annotations that client-side \`kubectl apply\` needs for last-applied-configuration.`, '',
    `| backend | ${SCALE_TIERS.map((t) => `${c[t]} CIDRs`).join(' | ')} |`, '|---|---:|---:|---:|');
  for (const b of BACKENDS) {
    p(`| ${b} | ${SCALE_TIERS.map((t) => {
      const bytes = s.builds[b][t].linuxConfigMapBytes;
      return `${(bytes / 1024).toFixed(0)} KiB${bytes > s.configMapMaxBytes ? ' (refused at app.synth())' : bytes > ANNOTATION_MAX_BYTES ? ' (> 256 KiB)' : ''}`;
    }).join(' | ')} |`);
  }
  const refusals = BACKENDS.flatMap((b) => SCALE_TIERS.filter((t) => s.builds[b][t].refusal).map((t) => `- ${b}, ${c[t]} CIDRs: \`${s.builds[b][t].refusal}\``));
  if (refusals.length > 0) p('', 'app.synth() refuses these (the benchmark measures them anyway, from objects rendered without validation):', '', ...refusals);
  p('', '### Apply time', '',
    'Section 2\'s method (fresh namespace, `sh apply.sh` vs a bare `ipset restore` + `iptables-nft-restore` / `nft -f` of what it left;',
    'the re-apply against the same bare commands replacing that state),',
    `median of ${s.applyIterations}; target ≤ 2 for the first apply and the re-apply.`, '',
    `| backend | ${SCALE_BIG_TIERS.flatMap((t) => APPLY_KINDS.map((k) => `${c[t]} ${k}`)).join(' | ')} |`, '|---|---:|---:|---:|---:|');
  for (const b of BACKENDS) {
    p(`| ${b} | ${SCALE_BIG_TIERS.flatMap((t) => APPLY_KINDS.map((k) => {
      const r = get(scaleApplyKey(b, t, k));
      const res = s.apply[b][t];
      return `${cell(r)} (${(k === 'first' ? res.oursMs : res.reapplyMs).toFixed(0)} / ${(k === 'first' ? res.bareMs : res.bareAgainMs).toFixed(0)} ms)`;
    })).join(' | ')} |`);
  }
  p('', '### Per packet', '',
    `Sections 1 and 6's side-by-side method with the ${SCALE_BIG_TIERS.map((t) => c[t]).join(' and ')}-CIDR policies, ${s.reps} rounds; targets ≥ 0.95 / ≤ 1.05.`, '',
    `| test | ${BACKENDS.flatMap((b) => SCALE_BIG_TIERS.map((t) => `${b} ${c[t]}`)).join(' | ')} |`, '|---|---:|---:|---:|---:|');
  for (const f of SCALE_THROUGHPUT_FLOWS) p(`| throughput ${f} | ${BACKENDS.flatMap((b) => SCALE_BIG_TIERS.map((t) => cell(get(scaleThroughputKey(f, b, t))))).join(' | ')} |`);
  for (const t of SCALE_LATENCY_TESTS) {
    for (const pct of PERCENTILES) {
      p(`| latency ${t} ${pct} | ${BACKENDS.flatMap((b) => SCALE_BIG_TIERS.map((tier) => {
        const r = get(scaleLatencyKey(t, b, tier, pct));
        return `${cell(r)}${pct === 'p99' ? ` (+${addedUs(r)} µs)` : ''}`;
      })).join(' | ')} |`);
    }
  }
  p('', '### Windows', '',
    `| exempted CIDRs | ${SCALE_TIERS.map((t) => c[t]).join(' | ')} |`, '|---|---:|---:|---:|',
    `| Block rules in apply.ps1 | ${SCALE_TIERS.map((t) => get(scaleWindowsKey(t, 'rules')).value.toFixed(0)).join(' | ')} |`,
    `| apply.ps1 KiB | ${SCALE_TIERS.map((t) => get(scaleWindowsKey(t, 'apply-ps1-kib')).value.toFixed(0)).join(' | ')} |`, '',
    'Windows Firewall has no sets: "deny udp except these CIDRs" is Block rules over the complement, so n non-adjacent',
    'CIDRs leave about n+1 ranges spread over the rules apply.ps1 creates (chunked per rule).');
  const all = [
    ...SCALE_VARIANTS.flatMap((v) => [get(scaleSynthKey(v, '10k-vs-1k')), get(scaleSynthKey(v, '100k-vs-10k'))]),
    ...BACKENDS.flatMap((b) => SCALE_BIG_TIERS.flatMap((t) => APPLY_KINDS.map((k) => get(scaleApplyKey(b, t, k))))),
    ...SCALE_THROUGHPUT_FLOWS.flatMap((f) => BACKENDS.flatMap((b) => SCALE_BIG_TIERS.map((t) => get(scaleThroughputKey(f, b, t))))),
    ...SCALE_LATENCY_TESTS.flatMap((t) => BACKENDS.flatMap((b) => SCALE_BIG_TIERS.flatMap((tier) =>
      PERCENTILES.map((pct) => get(scaleLatencyKey(t, b, tier, pct)))))),
  ];
  const walk = BACKENDS.map((b) => `${b} ${get(throughputKey('udp-untracked', b, 'default')).value.toFixed(3)}`).join(', ');
  misses(p, all, 'see the detail column. Untracked UDP walks the chain per datagram (section 1). With an allow of its own the flow meets ' +
    `the same cheap rules at 10,000 and 100,000 entries as at 1,000 and never the set: section 1's default policy, without any list, keeps ${walk}, ` +
    'so a miss there is the cost of the walk, not of the list. In-list, the flow walks every cheap allow and then pays one set lookup, ' +
    'the same at 100,000 entries as at 10,000 (iptables: ipset through the xtables compatibility layer; see "Surprises"). ' +
    'Apply times include the script\'s checks');
  p('', ...BACKENDS.flatMap((b) => SCALE_TIERS.map((t) => `- \`${scaleConfigMapKey(b, t)}\`: ${get(scaleConfigMapKey(b, t)).detail}`)));
}

function misses(p: Put, ratios: Ratio[], why: string): void {
  const missed = ratios.filter((r) => passes(r) === false);
  if (missed.length === 0) return;
  p('', '### Targets missed', '', ...missed.map((r) => `- \`${r.key}\`: ${missBy(r)}; ${r.detail}`), '', `Why: ${why}.`);
}
