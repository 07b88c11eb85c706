// Apply time of the 1,000-entry policy against a bare load of the same rules and elements.
//
// "ours"  = `sh apply.sh` as the DaemonSet runs it (HOSTNET_IPTABLES_MODE=auto).
// "bare"  = the minimal commands that leave the SAME kernel state, with what apply.sh left in the
//           kernel read back and loaded once, with no logic around it:
//   iptables: one `ipset restore` of our sets, then one `iptables-nft-restore --noflush` per family
//             with our chains, rules and jumps (no flavour detection, no --test pass, no jump
//             checks, no scratch set and swap, no set clean-up);
//   nftables: one `nft -f` of our table (no create-then-delete prefix, no sh).
// "bare again" = the minimal commands that replace that state on a node that holds it, the baseline
//           of a re-apply: replacing rules makes the kernel free the old ones (each transaction that
//           deletes waits for an RCU grace period), which a load into an empty namespace never pays:
//   iptables: `ipset restore -exist` of the same sets, the same restore without the jumps (declaring
//             a chain with --noflush flushes it); nftables: `delete table` + the table, one `nft -f`.
// Both start from the same state: a fresh namespace holding only the kube-proxy stand-in. The
// resulting rulesets are compared once per run: a bare load that differs is an error.
// Times are net of a null `ip netns exec <ns> sh -c true`, which both pay.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BenchOptions, NS_PREFIX, deleteNamespace, median, nowMs, nsSh, progress, run } from './common';
import { Scripts, applyBenchScripts, kubeProxyStandIn } from './policies';
import { APPLY_KINDS, BACKENDS, Backend, Ratio, applyKey, applyTarget } from './ratios';

const NS = `${NS_PREFIX}-apply`;
export const APPLY_NAMESPACES = [NS];

export interface ApplySizes {
  readonly setElements: number;
  readonly ruleLines: number;
}

export interface ApplyBackendResult {
  /** Medians, ms, net of the null exec. */
  readonly oursMs: number;
  readonly bareMs: number;
  readonly reapplyMs: number;
  /** The bare commands replacing the same state on a node that holds it: the re-apply's baseline. */
  readonly bareAgainMs: number;
  readonly nullMs: number;
  readonly samples: { ours: number[]; bare: number[]; reapply: number[]; bareAgain: number[]; null: number[] };
  readonly sizes: ApplySizes;
  /** What `bare` runs, for the report. */
  readonly bareCommands: string[];
  /** What apply.sh printed (names the iptables flavour it detected). */
  readonly appliedAs: string;
  /** Programs each side starts (successful execve), when strace is installed. */
  readonly launches?: { ours: number; reapply: number; bare: number; byProgram: Record<string, number> };
}

export interface ApplyResult {
  readonly ratios: Ratio[];
  readonly backends: Record<Backend, ApplyBackendResult>;
  readonly iterations: number;
}

export async function measureApply(opts: BenchOptions, tmp: string): Promise<ApplyResult> {
  const backends = {} as Record<Backend, ApplyBackendResult>;
  const ratios: Ratio[] = [];
  try {
    for (const backend of BACKENDS) {
      const result = await measureBackend(opts, tmp, backend);
      backends[backend] = result;
      for (const kind of APPLY_KINDS) {
        const ours = kind === 'first' ? result.oursMs : result.reapplyMs;
        ratios.push({
          key: applyKey(backend, kind),
          value: ours / (kind === 'first' ? result.bareMs : result.bareAgainMs),
          target: applyTarget(kind),
          detail: (kind === 'first' ? `apply.sh ${ours.toFixed(1)} ms vs bare ${result.bareMs.toFixed(1)} ms `
            : `apply.sh again (steady-state re-apply) ${ours.toFixed(1)} ms vs bare again ${result.bareAgainMs.toFixed(1)} ms `) +
            `(${result.sizes.setElements} set elements, ${result.sizes.ruleLines} rule lines; median of ${opts.applyIterations})`,
        });
      }
    }
  } finally {
    await deleteNamespace(NS);
  }
  return { ratios, backends, iterations: opts.applyIterations };
}

/**
 * One backend's policy: `scripts` (the 1,000-entry policy by default), `iterations` timed rounds,
 * `label` in progress lines and file names. The scale phase measures its 10k/100k policies with it.
 */
export async function measureBackend(opts: BenchOptions, tmp: string, backend: Backend,
  scripts: Scripts = applyBenchScripts(backend), iterations = opts.applyIterations, label = ''): Promise<ApplyBackendResult> {
  await freshNamespace();
  const ipv6 = (await run('ip', ['netns', 'exec', NS, 'test', '-e', '/proc/net/if_inet6'])).code === 0;
  const oursFile = join(tmp, `apply-${backend}${label}.sh`);
  writeFileSync(oursFile, scripts.apply);
  const ours = `HOSTNET_IPTABLES_MODE=auto sh ${oursFile}`;

  // The bare payload is what apply.sh leaves in the kernel, read back; both must then leave the
  // same ruleset, or the comparison means nothing.
  const applied = await nsSh(NS, ours, `apply.sh (${backend})`);
  const oursState = await kernelState();
  const bare = await bareLoad(backend, ipv6, tmp, label);
  await freshNamespace();
  await nsSh(NS, bare.command, `bare load (${backend})`);
  const bareState = await kernelState();
  await nsSh(NS, bare.againCommand, `bare load again (${backend})`);
  const bareAgainState = await kernelState();
  for (const [what, state] of [['bare load', bareState], ['bare load again', bareAgainState]]) {
    if (oursState !== state) {
      throw new Error(`apply bench (${backend}): the ${what} leaves a different ruleset than apply.sh; fix bench/apply-time.ts\n` +
        `--- apply.sh ---\n${oursState.slice(0, 3000)}\n--- ${what} ---\n${state.slice(0, 3000)}`);
    }
  }

  const samples = { ours: [] as number[], bare: [] as number[], reapply: [] as number[], bareAgain: [] as number[], null: [] as number[] };
  const timed = async (cmd: string, what: string) => {
    const start = nowMs();
    await nsSh(NS, cmd, what);
    return nowMs() - start;
  };
  for (let i = 0; i < iterations; i++) {
    progress(`apply ${backend}${label} ${i + 1}/${iterations}`);
    // alternate which side goes first
    const sides = i % 2 === 0 ? ['ours', 'bare'] as const : ['bare', 'ours'] as const;
    for (const side of sides) {
      await freshNamespace();
      samples.null.push(await timed('true', 'null exec'));
      if (side === 'ours') {
        samples.ours.push(await timed(ours, `apply.sh (${backend})`));
        samples.reapply.push(await timed(ours, `apply.sh again (${backend})`));
      } else {
        samples.bare.push(await timed(bare.command, `bare load (${backend})`));
        samples.bareAgain.push(await timed(bare.againCommand, `bare load again (${backend})`));
      }
    }
  }
  // process counts only for the 1,000-entry policy: they do not depend on the size
  const launches = label === '' ? await countLaunches(ours, bare.command, tmp) : undefined;
  const nullMs = median(samples.null);
  return {
    oursMs: median(samples.ours) - nullMs,
    bareMs: median(samples.bare) - nullMs,
    reapplyMs: median(samples.reapply) - nullMs,
    bareAgainMs: median(samples.bareAgain) - nullMs,
    nullMs,
    samples,
    sizes: bare.sizes,
    bareCommands: bare.describe,
    appliedAs: applied.stdout.trim(),
    launches,
  };
}

/** Successful execve calls of a first apply, a re-apply and a bare load (strace, if installed). */
async function countLaunches(ours: string, bare: string, tmp: string): Promise<ApplyBackendResult['launches']> {
  if ((await run('sh', ['-c', 'command -v strace'])).code !== 0) return undefined;
  const log = join(tmp, 'strace.log');
  const byProgram: Record<string, number> = {};
  const count = async (cmd: string, tally = false) => {
    if (cmd.includes("'")) throw new Error(`internal: cannot quote ${cmd}`);
    await nsSh(NS, `strace -f -qq -e trace=execve -e signal=none -o ${log} sh -c '${cmd}' >/dev/null`, 'strace');
    const execs = readFileSync(log, 'utf8').split('\n').filter((l) => /execve\(.* = 0$/.test(l));
    if (tally) {
      for (const l of execs.slice(1)) {
        const program = /execve\("[^"]*?([^/"]+)"/.exec(l)?.[1] ?? '?';
        byProgram[program] = (byProgram[program] ?? 0) + 1;
      }
    }
    // minus the `sh -c` strace starts, which is neither side's
    return execs.length - 1;
  };
  await freshNamespace();
  const first = await count(ours, true);
  const reapply = await count(ours);
  await freshNamespace();
  return { ours: first, reapply, bare: await count(bare), byProgram };
}

async function freshNamespace(): Promise<void> {
  await deleteNamespace(NS);
  const added = await run('ip', ['netns', 'add', NS]);
  if (added.code !== 0) throw new Error(`ip netns add ${NS} failed: ${added.stderr.trim()}`);
  await nsSh(NS, 'ip link set lo up', 'loopback up');
  await nsSh(NS, 'iptables-nft-restore -w --noflush', 'loading the kube-proxy stand-in', { input: kubeProxyStandIn() });
}

/** The whole netfilter state of the namespace (iptables-nft rules show in nft too) plus the ipsets. */
async function kernelState(): Promise<string> {
  const nft = await nsSh(NS, 'nft list ruleset', 'nft list ruleset');
  const sets = await nsSh(NS, 'ipset save', 'ipset save');
  // a set's hash seed (initval) is random per creation: not part of what was loaded
  const setLines = sets.stdout.split('\n').map((l) => l.replace(/ initval 0x[0-9a-f]+/, '')).sort();
  return `${normalizeRuleset(nft.stdout)}\n${setLines.join('\n')}`;
}

/** `nft list ruleset` with each table's chains and sets in name order: the order they were created in means nothing. */
export function normalizeRuleset(text: string): string {
  const out: string[] = [];
  let blocks: string[][] = [];
  let block: string[] | undefined;
  for (const line of text.split('\n')) {
    if (/^\t(chain|set|map) \S+ \{$/.test(line)) {
      block = [line];
    } else if (block) {
      block.push(line);
      if (line === '\t}') {
        blocks.push(block);
        block = undefined;
      }
    } else if (line.trim() === '' && blocks.length > 0) {
      // blank lines between blocks
    } else {
      if (line === '}') {
        out.push(...blocks.sort((x, y) => x[0].localeCompare(y[0])).flat());
        blocks = [];
      }
      out.push(line);
    }
  }
  return out.join('\n');
}

interface BareLoad {
  readonly command: string;
  /** The same state replaced on a node that holds it. */
  readonly againCommand: string;
  readonly describe: string[];
  readonly sizes: ApplySizes;
}

/**
 * The minimal load of what apply.sh left in the namespace, read back from the kernel (so it does not
 * depend on how the script is written): our sets with one `ipset restore`, our chains, rules and
 * jumps with one `iptables-nft-restore --noflush` per family; or our table with one `nft -f`.
 */
async function bareLoad(backend: Backend, ipv6: boolean, tmp: string, label: string): Promise<BareLoad> {
  const file = (name: string, lines: string[]) => {
    const path = join(tmp, `bare-${backend}${label}-${name}`);
    writeFileSync(path, lines.join('\n') + '\n');
    return path;
  };
  if (backend === 'nftables') {
    const table = (await nsSh(NS, 'nft list table inet hostnet', 'nft list table')).stdout.trimEnd().split('\n');
    const path = file('table.nft', table);
    const againPath = file('table-again.nft', ['delete table inet hostnet', ...table]);
    const elements = table.filter((l) => /\d+\.\d+\.\d+\.\d+/.test(l) && !/\b(accept|drop|return)\b/.test(l))
      .reduce((n, l) => n + (l.match(/\d+\.\d+\.\d+\.\d+(\/\d+)?/g) ?? []).length, 0);
    const ruleLines = table.filter((l) => /\b(accept|drop|return)\b/.test(l) && !l.includes('policy accept')).length;
    return {
      command: `nft -f ${path}`,
      againCommand: `nft -f ${againPath}`,
      describe: ['nft -f table.nft         # `nft list table inet hostnet` after apply.sh',
        'nft -f table-again.nft   # re-apply baseline: `delete table inet hostnet` + the same table'],
      sizes: { setElements: elements, ruleLines },
    };
  }

  const sets = (await nsSh(NS, 'ipset save', 'ipset save')).stdout.split('\n')
    .filter((l) => /^(create|add) hostnet-/.test(l));
  const family = async (save: string, withJumps = true) => {
    const saved = (await nsSh(NS, `${save} -t filter`, save)).stdout.split('\n');
    const ours = saved.filter((l) => /^:HOSTNET-\S+ /.test(l) || /^-A HOSTNET-/.test(l)).map((l) => l.replace(/\[\d+:\d+\]$/, '[0:0]'));
    // the jumps, inserted first in their built-in chain as apply.sh does (ahead of kube-proxy's)
    const jumps = saved.filter((l) => /^-A (INPUT|OUTPUT|FORWARD) .*-j HOSTNET-\S+$/.test(l)).map((l) => l.replace(/^-A (\S+) /, '-I $1 1 '));
    return ['*filter', ...ours, ...(withJumps ? jumps : []), 'COMMIT'];
  };
  const v4 = await family('iptables-nft-save');
  const v6 = ipv6 ? await family('ip6tables-nft-save') : [];
  const setsFile = file('sets.ipset', sets);
  const commands = [`ipset restore < ${setsFile}`, `iptables-nft-restore -w --noflush < ${file('v4.rules', v4)}`];
  if (ipv6) commands.push(`ip6tables-nft-restore -w --noflush < ${file('v6.rules', v6)}`);
  // again: the jumps are there already; declaring our chains flushes them
  const again = [`ipset restore -exist < ${setsFile}`, `iptables-nft-restore -w --noflush < ${file('v4-again.rules', await family('iptables-nft-save', false))}`];
  if (ipv6) again.push(`ip6tables-nft-restore -w --noflush < ${file('v6-again.rules', await family('ip6tables-nft-save', false))}`);
  const isRule = (l: string) => l.startsWith('-A ') || l.startsWith('-I ');
  return {
    command: commands.join(' && '),
    againCommand: again.join(' && '),
    describe: [
      'ipset restore < sets.ipset                      # our sets, from `ipset save` after apply.sh',
      'iptables-nft-restore -w --noflush < v4.rules    # our chains, rules and jumps, from `iptables-nft-save` after apply.sh',
      ...(ipv6 ? ['ip6tables-nft-restore -w --noflush < v6.rules   # the same for IPv6'] : []),
      '# re-apply baseline, on the node that holds them: the same sets with -exist, the same rules without the jumps',
      'ipset restore -exist < sets.ipset && iptables-nft-restore -w --noflush < v4-again.rules' + (ipv6 ? ' && ip6tables-nft-restore -w --noflush < v6-again.rules' : ''),
    ],
    sizes: {
      setElements: sets.filter((l) => l.startsWith('add ')).length,
      ruleLines: v4.filter(isRule).length + v6.filter(isRule).length,
    },
  };
}
