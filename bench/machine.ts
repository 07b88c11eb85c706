// What machine and tools a benchmark ran on: numbers mean little without it.
import { readFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { run } from './common';

export interface Machine {
  readonly date: string;
  readonly cpuModel: string;
  readonly cores: number;
  readonly kernel: string;
  readonly memoryGiB: number;
  readonly hypervisor: string;
  readonly node: string;
  readonly tools: Record<string, string>;
  readonly loadAtStart: number[];
}

export async function describeMachine(): Promise<Machine> {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? cpus()[0]?.model ?? 'unknown';
  const lscpu = await run('lscpu', []);
  const hypervisor = /^Hypervisor vendor:\s*(.+)$/m.exec(lscpu.stdout)?.[1]?.trim() ?? 'none reported';
  const version = async (file: string, args: string[]) => {
    const r = await run(file, args);
    return (r.stdout || r.stderr).split('\n')[0].trim();
  };
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    cpuModel: model.trim(),
    cores: cpus().length,
    kernel: release(),
    memoryGiB: Math.round(totalmem() / 2 ** 30 * 10) / 10,
    hypervisor,
    node: process.version,
    tools: {
      iperf3: await version('iperf3', ['--version']),
      iptables: await version('iptables-nft', ['--version']),
      nft: await version('nft', ['--version']),
      ipset: await version('ipset', ['--version']),
      sh: (await run('readlink', ['-f', '/bin/sh'])).stdout.trim(),
    },
    loadAtStart: loadavg(),
  };
}
