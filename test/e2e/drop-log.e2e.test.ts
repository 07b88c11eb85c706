// The drop log on a real kernel: packets a rule drops (or would, in audit mode) reach the kernel
// log through the rules' own LOG/log statements, and droplog.sh — the script from the synthesized
// ConfigMap, run as the drop-log container runs it — prints each as one line with the rule id and
// the 5-tuple, rate-limited per rule line. Both backends, IPv4 and IPv6.
import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nsExec, nsExecOk, run } from './netns';
import { describeE2e } from './require-root';
import { PAIR_NET, PAIR_PROFILE, VethPair, vethPair } from './veth-pair';
import { findObject, synthProfile } from '../util/synth';

const NET = PAIR_NET;
const DENIED_BY_RULE = 7005;
const DENIED_BY_DEFAULT = 7100;
const SYSCTL = '/proc/sys/net/netfilter/nf_log_all_netns';
/** Debian's busybox-static, the same static busybox the pod copies from its check image. */
const BUSYBOX = '/bin/busybox';

/** Ports 7000-7010 are let in, except 7005, which rule no-7005 denies; everything else meets the default. */
const CONFIG = {
  ...PAIR_PROFILE,
  exemptions: [
    { id: 'app-in', protocol: 'udp', scopes: ['nodeIngress'], sources: [`${NET.client4}/32`, `${NET.client6}/128`], destinationPorts: ['7000-7010'], description: 'the app' },
    { id: 'no-7005', action: 'deny', protocol: 'udp', scopes: ['nodeIngress'], destinationPorts: [String(DENIED_BY_RULE)], description: 'not this port' },
  ],
};

/** droplog.sh as the drop-log container runs it, printing into `lines`. */
class DropLogReader {
  readonly lines: string[] = [];
  private readonly child: ChildProcess;
  private stderr = '';

  constructor(script: string) {
    this.child = spawn('sh', [script], { env: { ...process.env, HOSTNET_BUSYBOX: BUSYBOX, HOSTNET_DROP_LOG_SECONDS: '1' } });
    let partial = '';
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop()!;
      this.lines.push(...parts);
    });
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => { this.stderr += chunk; });
  }

  /** Waits until `predicate` holds for the lines printed so far (the script polls every second). */
  async until(predicate: (lines: string[]) => boolean, what: string): Promise<void> {
    for (let i = 0; i < 80; i++) {
      if (predicate(this.lines)) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`droplog.sh never printed ${what}; it printed:\n${this.lines.join('\n')}\nstderr: ${this.stderr}`);
  }

  stop(): void {
    this.child.kill('SIGKILL');
  }
}

describeE2e('the drop log on a real kernel', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'hostnet-droplog-'));
  let logAllNetns = '0';
  beforeAll(() => {
    // LOG and nft log write from a network namespace other than the first only with this set
    logAllNetns = readFileSync(SYSCTL, 'utf8').trim();
    writeFileSync(SYSCTL, '1');
  });
  afterAll(() => {
    writeFileSync(SYSCTL, logAllNetns);
    rmSync(tmp, { recursive: true, force: true });
  });

  const backends = [
    { label: 'iptables-nft', overrides: {}, env: 'HOSTNET_IPTABLES_MODE=nft', p: 'i' },
    { label: 'iptables-legacy', overrides: {}, env: 'HOSTNET_IPTABLES_MODE=legacy', p: 'l' },
    { label: 'nftables', overrides: { linuxBackend: 'nftables' }, env: '', p: 't' },
  ];
  for (const backend of backends) {
    for (const mode of ['enforce', 'audit'] as const) {
      describe(`${backend.label}, ${mode}`, () => {
        const data = findObject(synthProfile('generic', { ...CONFIG, ...backend.overrides, mode }), 'ConfigMap', 'hostnet-linux-scripts').data;
        const action = mode === 'audit' ? 'would_drop' : 'drop';
        let pair: VethPair;
        let reader: DropLogReader;
        /** Sends one datagram per source port from the client to the node's `port`. */
        const send = (to: string, port: number, sourcePorts: number[]) => nsExecOk(pair.client, `node -e "
          const dgram = require('dgram');
          const ports = ${JSON.stringify(sourcePorts)};
          const next = () => {
            const sport = ports.shift();
            if (sport === undefined) return;
            const s = dgram.createSocket('${to.includes(':') ? 'udp6' : 'udp4'}');
            s.bind(sport, () => s.send('x', ${port}, '${to}', () => { s.close(); next(); }));
          };
          next();"`);

        beforeAll(async () => {
          pair = await vethPair(`hdl${backend.p}${mode[0]}`, NET);
          const apply = join(tmp, `${backend.p}-${mode}-apply.sh`);
          writeFileSync(apply, data['apply.sh']);
          const applied = await nsExec(pair.node, `${backend.env} HOSTNET_LOCK_DIR=${join(tmp, `${backend.p}-${mode}-lock`)} sh ${apply}`);
          expect(applied.code).toBe(0);
          const script = join(tmp, `${backend.p}-${mode}-droplog.sh`);
          writeFileSync(script, data['droplog.sh']);
          reader = new DropLogReader(script);
          await reader.until((lines) => lines.some((l) => l.startsWith('hostnet: drop log of NodeFirewall hostnet started')), 'its start line');
        });
        afterAll(async () => {
          reader?.stop();
          await pair?.remove();
        });

        test.each([
          ['ipv4', NET.node4, NET.client4, 41005, 41100],
          ['ipv6', NET.node6, NET.client6, 41006, 41101],
        ])('%s: a packet a rule drops and one the default drops, each with its rule id and 5-tuple', async (_family, to, from, sportRule, sportDefault) => {
          // WHEN
          await send(to, DENIED_BY_RULE, [sportRule]);
          await send(to, DENIED_BY_DEFAULT, [sportDefault]);
          // THEN
          const at = (addr: string, port: number) => (addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`);
          const expected = [
            `hostnet drop rule=no-7005 action=${action} proto=udp src=${at(from, sportRule)} dst=${at(to, DENIED_BY_RULE)} dir=ingress`,
            `hostnet drop rule=default-deny-udp action=${action} proto=udp src=${at(from, sportDefault)} dst=${at(to, DENIED_BY_DEFAULT)} dir=ingress`,
          ];
          await reader.until((lines) => expected.every((e) => lines.includes(e)), expected.join(' and '));
          // each packet once, though the reader reads the whole kernel log every second
          for (const line of expected) expect(reader.lines.filter((l) => l === line)).toHaveLength(1);
        });

        test('a flood is rate-limited per rule line: at most a burst of the 20 datagrams is logged', async () => {
          // WHEN 20 datagrams to a port the default denies, from 20 source ports
          const sports = Array.from({ length: 20 }, (_, i) => 43000 + i);
          await send(NET.node4, DENIED_BY_DEFAULT + 1, sports);
          // THEN some are printed, and no more than the burst (3) plus one refill
          const flood = (lines: string[]) => lines.filter((l) => l.includes(`dst=${NET.node4}:${DENIED_BY_DEFAULT + 1} `));
          await reader.until((lines) => flood(lines).length > 0, 'a line of the flood');
          await new Promise((resolve) => setTimeout(resolve, 2500));
          expect(flood(reader.lines).length).toBeGreaterThanOrEqual(1);
          expect(flood(reader.lines).length).toBeLessThanOrEqual(4);
        });

        test(mode === 'audit' ? 'audit mode delivers the packets it logs' : 'enforce mode drops the packets it logs', async () => {
          // GIVEN a listener on the denied port
          const listener = spawn('ip', ['netns', 'exec', pair.node, process.execPath, '-e',
            `const s = require('dgram').createSocket('udp4'); s.on('message', () => console.log('got'));
             s.bind(${DENIED_BY_RULE}, '${NET.node4}', () => console.log('ready'));`]);
          let out = '';
          listener.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
          try {
            for (let i = 0; i < 200 && !out.includes('ready'); i++) await new Promise((r) => setTimeout(r, 50));
            expect(out).toContain('ready');
            // WHEN
            await send(NET.node4, DENIED_BY_RULE, [44000]);
            for (let i = 0; i < 40 && !out.includes('got'); i++) await new Promise((r) => setTimeout(r, 50));
          } finally {
            listener.kill('SIGKILL');
          }
          // THEN
          expect(out.includes('got')).toBe(mode === 'audit');
        });
      });
    }
  }

  test('without CAP_SYSLOG the reader says the drop log is off, and keeps running instead of restarting', async () => {
    // GIVEN the script, run with every capability dropped (setpriv is in util-linux)
    const data = findObject(synthProfile('generic', CONFIG), 'ConfigMap', 'hostnet-linux-scripts').data;
    const script = join(tmp, 'nocap-droplog.sh');
    writeFileSync(script, data['droplog.sh']);
    // WHEN
    const result = await run('timeout', ['3', 'setpriv', '--inh-caps=-all', '--bounding-set=-all', 'env', `HOSTNET_BUSYBOX=${BUSYBOX}`, 'sh', script]);
    // THEN timeout killed it (124): it did not exit by itself
    expect(result.code).toBe(124);
    expect(result.stderr).toMatch(/^hostnet: cannot read the kernel log, so the drop log is off: .+ \(it needs CAP_SYSLOG\)$/m);
  });
});
