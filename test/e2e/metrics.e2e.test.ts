// Per-rule counters on a real kernel: N datagrams a rule drops and M it allows raise
// hostnet_rule_packets_total by exactly N and M under the right labels, on both backends, IPv4 and
// IPv6, in the text format promtool accepts.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nsExec, nsExecOk } from './netns';
import { describeE2e } from './require-root';
import { PAIR_NET, PAIR_PROFILE, VethPair, vethPair } from './veth-pair';
import { linuxScripts, synthProfile } from '../util/synth';

const NET = PAIR_NET;
const ALLOWED_PORT = 7000;
const DENIED_PORT = 7001;

/** A policy whose only exemption lets the client's datagrams to ALLOWED_PORT into the node. */
const CONFIG = {
  ...PAIR_PROFILE,
  exemptions: [
    { id: 'app-in', protocol: 'udp', scopes: ['nodeIngress'], sources: [`${NET.client4}/32`], destinationPorts: [String(ALLOWED_PORT)], description: 'the app, IPv4' },
    { id: 'app-in-v6', protocol: 'udp', scopes: ['nodeIngress'], sources: [`${NET.client6}/128`], destinationPorts: [String(ALLOWED_PORT)], description: 'the app, IPv6' },
  ],
};

/** Samples of one metric as a map from its label set (as printed) to the value. */
function samples(text: string, metric: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = new RegExp(`^${metric}\\{(.*)\\} (\\d+)$`).exec(line);
    if (m) out.set(m[1], Number(m[2]));
  }
  return out;
}

describeE2e('per-rule metrics on a real kernel', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'hostnet-metrics-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  for (const backend of [{ label: 'iptables-nft', overrides: {}, env: 'HOSTNET_IPTABLES_MODE=nft', p: 'i' }, { label: 'iptables-legacy', overrides: {}, env: 'HOSTNET_IPTABLES_MODE=legacy', p: 'l' }, { label: 'nftables', overrides: { linuxBackend: 'nftables' }, env: '', p: 't' }]) {
    describe(backend.label, () => {
      const client = `hmt${backend.p}-client`;
      const node = `hmt${backend.p}-node`;
      let pair: VethPair | undefined;
      const scripts = linuxScripts(synthProfile('generic', { ...CONFIG, ...backend.overrides }));
      const apply = join(tmp, `${backend.p}-apply.sh`);
      const env = `${backend.env} HOSTNET_LOCK_DIR=${join(tmp, `${backend.p}-lock`)}`;
      const metrics = async () => (await nsExecOk(node, `${env} sh ${apply} metrics`)).stdout;
      /** Sends `count` datagrams from the client to the node's port, one by one. */
      const send = (to: string, port: number, count: number) => nsExecOk(client, `node -e "
        const s = require('dgram').createSocket('${to.includes(':') ? 'udp6' : 'udp4'}');
        let left = ${count};
        const next = () => (left-- > 0 ? s.send('x', ${port}, '${to}', next) : s.close());
        next();"`);

      beforeAll(async () => {
        writeFileSync(apply, scripts.apply);
        pair = await vethPair(`hmt${backend.p}`, NET);
        const applied = await nsExec(node, `${env} sh ${apply}`);
        expect(applied.code).toBe(0);
      });
      afterAll(async () => {
        await pair?.remove();
      });

      test.each([
        ['ipv4', NET.node4, 'app-in'],
        ['ipv6', NET.node6, 'app-in-v6'],
      ])('%s: N dropped and M allowed datagrams raise the counters by exactly N and M', async (family, to, rule) => {
        // GIVEN
        const before = samples(await metrics(), 'hostnet_rule_packets_total');
        const allowKey = `rule="${rule}",action="allow",direction="ingress",family="${family}"`;
        const dropKey = `rule="default-deny-udp",action="drop",direction="ingress",family="${family}"`;
        expect(before.has(allowKey)).toBe(true);
        expect(before.has(dropKey)).toBe(true);
        // WHEN 7 datagrams go to a denied port and 5 to the allowed one (a new flow each: no replies)
        await send(to, DENIED_PORT, 7);
        await send(to, ALLOWED_PORT, 5);
        // THEN
        const after = samples(await metrics(), 'hostnet_rule_packets_total');
        expect(after.get(dropKey)! - before.get(dropKey)!).toBe(7);
        expect(after.get(allowKey)! - before.get(allowKey)!).toBe(5);
        const bytes = samples(await metrics(), 'hostnet_rule_bytes_total');
        // 1 byte of payload + 8 (UDP) + 20 (IPv4) or 40 (IPv6) each
        expect(bytes.get(allowKey)).toBe(5 * (family === 'ipv4' ? 29 : 49));
      });

      test('the text format passes promtool check metrics', async () => {
        const file = join(tmp, `${backend.p}.prom`);
        writeFileSync(file, await metrics());
        // promtool prints nothing and exits 0 when the file is fine
        expect(execFileSync('sh', ['-c', `promtool check metrics < ${file} 2>&1`], { encoding: 'utf8' })).toBe('');
      });
    });
  }
});
