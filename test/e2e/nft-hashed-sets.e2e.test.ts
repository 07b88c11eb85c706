// Long address lists on the nftables backend become one hash set per prefix length, matched as
// `ip saddr & <mask> @set`: on a real kernel, a packet from inside any listed CIDR of any length
// passes and one from outside all of them is dropped, IPv4 and IPv6.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nsExec, nsExecOk } from './netns';
import { describeE2e } from './require-root';
import { PAIR_NET, PAIR_PROFILE, VethPair, vethPair } from './veth-pair';
import { linuxScripts, synthProfile } from '../util/synth';

const PORT = 7000;
/** Client addresses, each inside a listed CIDR of a different length, and two inside none. */
const INSIDE = ['198.18.0.1', '198.18.0.40', '198.18.9.5', 'fd00:18::1', 'fd00:20::5'];
const OUTSIDE = ['198.18.12.7', 'fd00:22::5'];

// IPv4: 40 /32s, 40 /28s, 3 /24s; IPv6: 40 /128s, 2 /64s. Both lists are long enough to be hashed.
const SOURCES = [
  '198.18.0.1/32', ...Array.from({ length: 39 }, (_, k) => `198.18.2.${k + 1}/32`),
  '198.18.0.32/28', ...Array.from({ length: 39 }, (_, k) => `198.18.${3 + Math.floor(k / 16)}.${(k % 16) * 16}/28`),
  '198.18.9.0/24', '198.18.10.0/24', '198.18.11.0/24',
  'fd00:18::1/128', ...Array.from({ length: 39 }, (_, k) => `fd00:19::${k + 1}/128`),
  'fd00:20::/64', 'fd00:21::/64',
];

describeE2e('hashed address sets on a real kernel (nftables backend)', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'hostnet-hashed-'));
  const scripts = linuxScripts(synthProfile('generic', {
    ...PAIR_PROFILE,
    linuxBackend: 'nftables',
    exemptions: [{ id: 'app', protocol: 'udp', scopes: ['nodeIngress'], sources: SOURCES, destinationPorts: [String(PORT)], description: 'many sources' }],
  }));
  let pair: VethPair;

  beforeAll(async () => {
    pair = await vethPair('hhs', PAIR_NET);
    const extra = ['198.18.0.40/32', '198.18.9.5/32', '198.18.12.7/32'].map((a) => `ip addr add ${a} dev hhsc`);
    const extra6 = ['fd00:20::5/128', 'fd00:22::5/128'].map((a) => `ip addr add ${a} dev hhsc nodad`);
    await nsExecOk(pair.client, [...extra, ...extra6, 'ip route add 198.18.0.2/32 dev hhsc', 'ip -6 route add fd00:18::2/128 dev hhsc'].join(' && '));
    // sources from other networks arrive on this link by design
    await nsExecOk(pair.node, 'sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.hhsn.rp_filter=0');
    writeFileSync(join(tmp, 'apply.sh'), scripts.apply);
    const applied = await nsExec(pair.node, `HOSTNET_LOCK_DIR=${join(tmp, 'lock')} sh ${join(tmp, 'apply.sh')}`);
    expect(applied.code).toBe(0);
  });
  afterAll(async () => {
    await pair?.remove();
    rmSync(tmp, { recursive: true, force: true });
  });

  test('the rendered rule takes one line per prefix length, each a masked hash lookup', () => {
    expect(scripts.apply).toContain('ip saddr @saddr4-app-32 udp dport 7000 counter accept comment "app"');
    expect(scripts.apply).toContain('ip saddr & 255.255.255.240 @saddr4-app-28 udp dport 7000 counter accept comment "app"');
    expect(scripts.apply).toContain('ip saddr & 255.255.255.0 @saddr4-app-24 udp dport 7000 counter accept comment "app"');
    expect(scripts.apply).toContain('ip6 saddr & ffff:ffff:ffff:ffff:: @saddr6-app-64 udp dport 7000 counter accept comment "app"');
  });

  test('packets from inside every listed length pass, from outside all of them are dropped', async () => {
    // GIVEN a listener on both families that prints each sender's address
    const listener = spawn('ip', ['netns', 'exec', pair.node, process.execPath, '-e', `
      const dgram = require('dgram');
      let ready = 0;
      for (const [type, addr] of [['udp4', '${PAIR_NET.node4}'], ['udp6', '${PAIR_NET.node6}']]) {
        const s = dgram.createSocket(type);
        s.on('message', (_m, from) => console.log('from ' + from.address));
        s.bind(${PORT}, addr, () => { if (++ready === 2) console.log('ready'); });
      }`]);
    let out = '';
    listener.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
    try {
      for (let i = 0; i < 200 && !out.includes('ready'); i++) await new Promise((r) => setTimeout(r, 50));
      expect(out).toContain('ready');
      // WHEN each address sends one datagram
      await nsExecOk(pair.client, `${process.execPath} -e "
        const dgram = require('dgram');
        const all = ${JSON.stringify([...INSIDE, ...OUTSIDE]).replace(/"/g, '\\"')};
        let left = all.length;
        for (const from of all) {
          const v6 = from.includes(':');
          const s = dgram.createSocket(v6 ? 'udp6' : 'udp4');
          s.bind(0, from, () => s.send('x', ${PORT}, v6 ? '${PAIR_NET.node6}' : '${PAIR_NET.node4}', () => { s.close(); if (--left === 0) process.exit(0); }));
        }"`);
      for (let i = 0; i < 40 && INSIDE.some((a) => !out.includes(`from ${a}\n`)); i++) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      listener.kill('SIGKILL');
    }
    // THEN
    const received = out.split('\n').filter((l) => l.startsWith('from ')).map((l) => l.slice(5)).sort();
    expect(received).toEqual([...INSIDE].sort());
  });
});
