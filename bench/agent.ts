// The Linux agent's loop (run.sh, as synthesized) with its default drift interval: how long after
// a hand-made break of our rules it has them back, and what it costs an idle node in CPU.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BenchOptions, NS_PREFIX, deleteNamespace, nowMs, nsSh, progress, run } from './common';
import { BACKENDS, Backend, DRIFT_BREAKS, Ratio, agentCpuKey, driftKey, DRIFT_TARGET, CPU_TARGET } from './ratios';
import { E2E_OVERRIDES, synthProfile, findObject } from '../test/util/synth';

/** Ways to break our rules by hand, per backend: what an operator or a CNI restart does. */
const BREAKS: Record<Backend, Record<(typeof DRIFT_BREAKS)[number], string>> = {
  iptables: { flush: 'iptables-nft -F HOSTNET-INPUT', remove: 'iptables-nft -D INPUT -m comment --comment cdk8s-hostnet -j HOSTNET-INPUT' },
  nftables: { flush: 'nft flush chain inet hostnet input', remove: 'nft delete table inet hostnet' },
};

export interface AgentResult {
  readonly ratios: Ratio[];
  /** One line per measurement, for the report. */
  readonly lines: string[];
}

/** The clock ticks per second /proc/<pid>/stat counts in (USER_HZ, 100 on every Linux we run on). */
const TICKS = 100;

/** utime + stime + cutime + cstime of a process: its CPU and that of the children it waited for. */
function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  // fields[0] is field 3 (state): utime is field 14
  return [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0);
}

export async function measureAgent(opts: BenchOptions, tmp: string): Promise<AgentResult> {
  const ratios: Ratio[] = [];
  const lines: string[] = [];
  const busybox = ['/bin/busybox', '/usr/bin/busybox'].find(existsSync);
  for (const backend of BACKENDS) {
    const ns = `${NS_PREFIX}-agent-${backend.slice(0, 3)}`;
    await deleteNamespace(ns);
    await run('ip', ['netns', 'add', ns]);
    await nsSh(ns, 'ip link set lo up', 'lo up');
    const dir = join(tmp, `agent-${backend}`);
    for (const sub of ['scripts', 'pod', 'node']) mkdirSync(join(dir, sub), { recursive: true });
    const objects = synthProfile('k2s', { ...E2E_OVERRIDES, linuxBackend: backend });
    const data: Record<string, string> = findObject(objects, 'ConfigMap', 'hostnet-linux-scripts').data;
    for (const [file, text] of Object.entries(data)) writeFileSync(join(dir, 'scripts', file), text);
    const driftSeconds = opts.smoke ? 1 : 10;
    const env = [`HOSTNET_SCRIPTS=${dir}/scripts`, `HOSTNET_POD_DIR=${dir}/pod`, `HOSTNET_LOCK_DIR=${dir}/node`,
      `HOSTNET_BUSYBOX=${busybox ?? '/nonexistent'}`, 'HOSTNET_IPTABLES_MODE=nft', `HOSTNET_DRIFT_SECONDS=${driftSeconds}`,
      // no API server and no resolvers answer in this namespace: the checks pass nothing before, lose nothing after
      'HOSTNET_API_HOST='].join(' ');
    const agent = spawn('ip', ['netns', 'exec', ns, 'sh', '-c', `${env} exec sh ${dir}/scripts/run.sh`], { stdio: 'ignore' });
    try {
      const ready = join(dir, 'pod', 'ready');
      const readyBy = nowMs() + 60_000;
      while (!existsSync(ready)) {
        if (nowMs() > readyBy) throw new Error(`the agent (${backend}) was not Ready within 60 s`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const applied = (await nsSh(ns, `sh ${dir}/pod/apply.sh state`, 'state')).stdout;

      // idle CPU: the loop's own ticks and those of every command it ran and waited for
      const idleSeconds = opts.smoke ? 3 : 120;
      const t0 = nowMs();
      const c0 = cpuTicks(agent.pid!);
      await new Promise((resolve) => setTimeout(resolve, idleSeconds * 1000));
      const cpuPercent = ((cpuTicks(agent.pid!) - c0) / TICKS) / ((nowMs() - t0) / 1000) * 100;
      ratios.push({
        key: agentCpuKey(backend),
        value: cpuPercent,
        target: CPU_TARGET,
        detail: `% of one core over ${idleSeconds} s idle, drift checked every ${driftSeconds} s`,
      });
      lines.push(`${backend}: idle CPU ${cpuPercent.toFixed(3)}% of one core over ${idleSeconds} s (drift checked every ${driftSeconds} s)`);

      for (const kind of DRIFT_BREAKS) {
        const broke = nowMs();
        await nsSh(ns, BREAKS[backend][kind], `break (${kind})`);
        const by = broke + 60_000;
        for (;;) {
          if ((await nsSh(ns, `sh ${dir}/pod/apply.sh state`, 'state')).stdout === applied) break;
          if (nowMs() > by) throw new Error(`the agent (${backend}) did not repair '${BREAKS[backend][kind]}' within 60 s`);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        const seconds = (nowMs() - broke) / 1000;
        ratios.push({
          key: driftKey(backend, kind),
          value: seconds,
          target: DRIFT_TARGET,
          detail: `s from '${BREAKS[backend][kind]}' to our rules back, drift checked every ${driftSeconds} s`,
        });
        lines.push(`${backend}: '${BREAKS[backend][kind]}' repaired after ${seconds.toFixed(1)} s`);
        progress(lines[lines.length - 1]);
        // the next break starts from a fresh interval, as a random break would land anywhere in one
      }
    } finally {
      agent.kill('SIGTERM');
      await deleteNamespace(ns);
    }
  }
  return { ratios, lines };
}
