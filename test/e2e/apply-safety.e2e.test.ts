// apply.sh and remove.sh as an adversary runs them, on a real kernel: several at once, SIGKILLed at
// random moments, against a held lock, without a tool, next to foreign jumps, with only the
// capabilities the DaemonSet grants. Each case must end in the previous rules or the new ones
// (compared with a single apply on a clean namespace), never in none, and say so when it fails.
import { spawn } from 'node:child_process';
import { accessSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExecResult, deleteNamespace, nsExec, nsExecOk, run } from './netns';
import { describeE2e } from './require-root';
import { distinctCidrs } from '../util/gen-cidrs';
import { E2E_OVERRIDES, findObject, linuxScripts, synthProfile } from '../util/synth';

interface Flavour {
  readonly label: string;
  /** iptables-legacy / iptables-nft, or undefined for the nftables backend */
  readonly iptables?: 'legacy' | 'nft';
  readonly prefix: string;
}
const FLAVOURS: Flavour[] = [
  { label: 'iptables-legacy', iptables: 'legacy', prefix: 'l' },
  { label: 'iptables-nft', iptables: 'nft', prefix: 'n' },
  { label: 'nftables', prefix: 't' },
];

/** Rounds per race and kill test: enough to have caught every failure seen before the lock (40 of 50). */
const ROUNDS = Number(process.env.HOSTNET_RACE_ROUNDS ?? 12);

/** A syslog exemption to `count` networks: 4,000 CIDRs make the sets large enough for a race to show. */
function exemption(count: number, offset: number, port: string) {
  return {
    exemptions: [{
      id: 'partner-syslog',
      protocol: 'udp',
      scopes: ['nodeEgress', 'podForward'],
      destinationPorts: [port, '6514'],
      destinations: distinctCidrs(count + offset).slice(offset),
      description: 'syslog to partner networks',
    }],
  };
}

/** Deterministic random numbers (mulberry32), so a failing kill schedule can be replayed. */
/* eslint-disable no-bitwise */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
/* eslint-enable no-bitwise */

describeE2e('apply.sh and remove.sh under concurrency, kills, held locks and missing tools', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'hostnet-safety-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  for (const flavour of FLAVOURS) {
    describe(flavour.label, () => {
      const ns = `hsf${flavour.prefix}-${process.pid}`;
      const lockDir = join(tmp, `lock-${flavour.prefix}`);
      const backend = flavour.iptables ? {} : { linuxBackend: 'nftables' };
      const synth = (extra: object) => synthProfile('k2s', { ...E2E_OVERRIDES, ...backend, ...extra });
      const scriptsA = linuxScripts(synth(exemption(4000, 0, '514')));
      const scriptsB = linuxScripts(synth(exemption(3000, 500, '1514')));
      const small = linuxScripts(synth({}));
      const env = [`HOSTNET_LOCK_DIR=${lockDir}`, `XTABLES_LOCKFILE=${join(tmp, `xtables-${flavour.prefix}.lock`)}`,
        flavour.iptables ? `HOSTNET_IPTABLES_MODE=${flavour.iptables}` : ''].join(' ');
      const files: Record<string, string> = {};
      const file = (name: string, text: string) => {
        files[name] ??= join(tmp, `${flavour.prefix}-${name}`);
        writeFileSync(files[name], text);
        return files[name];
      };
      const applyA = file('apply-a.sh', scriptsA.apply);
      const applyB = file('apply-b.sh', scriptsB.apply);
      const remove = file('remove.sh', scriptsA.remove);
      const sh = (script: string, extraEnv = '', timeoutMs = 60_000) => nsExec(ns, `${env} ${extraEnv} sh ${script}`, { timeoutMs });

      /**
       * What a packet would meet, per family: our rule lines (jumps included) and the full content of
       * every set they reference. Leftover scratch sets nothing references filter nothing: left out.
       */
      async function state(): Promise<{ v4: string; v6: string }> {
        if (!flavour.iptables) {
          const table = await nsExec(ns, 'nft list table inet hostnet');
          const text = table.code === 0 ? table.stdout.replace(/counter packets \d+ bytes \d+/g, 'counter') : '(none)';
          return { v4: text, v6: text };
        }
        const family = async (save: string) => {
          const rules = (await nsExecOk(ns, `${save} -t filter`)).stdout.split('\n')
            .filter((l) => /HOSTNET/.test(l)).map((l) => l.replace(/\[\d+:\d+\]/g, '')).sort();
          const sets = [...new Set(rules.flatMap((l) => [...l.matchAll(/--match-set (\S+)/g)].map((m) => m[1])))].sort();
          const contents = [];
          for (const set of sets) {
            const saved = await nsExec(ns, `ipset save ${set}`);
            // (a set's hash seed and size differ between two sets of the same content)
            const text = saved.stdout.replace(/ (hashsize|initval|bucketsize) \S+/g, '');
            contents.push(saved.code === 0 ? text.split('\n').sort().join('\n') : `MISSING ${set}`);
          }
          return rules.length === 0 ? '(none)' : [...rules, ...contents].join('\n');
        };
        return { v4: await family(`iptables-${flavour.iptables}-save`), v6: await family(`ip6tables-${flavour.iptables}-save`) };
      }
      const ourSets = async () => (await nsExec(ns, 'ipset list -n')).stdout.split('\n').filter((s) => s.startsWith('hostnet-')).sort();
      const reset = async () => { expect((await sh(remove)).code).toBe(0); };
      const ok = (r: ExecResult, what: string) => {
        if (r.code !== 0) throw new Error(`${what} exited ${r.code}: ${r.stderr}`);
      };

      const ref: Record<'none' | 'a' | 'b', { v4: string; v6: string }> = {} as any;

      beforeAll(async () => {
        await deleteNamespace(ns);
        await run('ip', ['netns', 'add', ns]);
        await nsExecOk(ns, 'ip link set lo up');
        mkdirSync(lockDir, { recursive: true });
        ref.none = await state();
        ok(await sh(applyA), 'apply A');
        ref.a = await state();
        await reset();
        ok(await sh(applyB), 'apply B');
        ref.b = await state();
        await reset();
        expect(ref.a.v4).not.toEqual(ref.b.v4);
        expect(ref.none).toEqual({ v4: '(none)', v6: '(none)' });
      });
      afterAll(() => deleteNamespace(ns));

      test(`${ROUNDS} rounds of 4 applies at once on a fresh node end exactly as one apply`, async () => {
        const outcomes: string[] = [];
        for (let round = 0; round < ROUNDS; round++) {
          await reset();
          const results = await Promise.all([0, 1, 2, 3].map(() => sh(applyA)));
          const now = await state();
          outcomes.push(`${results.map((r) => r.code).join('')}:${now.v4 === ref.a.v4 && now.v6 === ref.a.v6 ? 'A' : 'OTHER'}`);
          if (flavour.iptables) expect(await ourSets()).toEqual(ref.a.v4.match(/^create (\S+)/gm)?.map((c) => c.slice(7)).concat(ref.a.v6.match(/^create (\S+)/gm)?.map((c) => c.slice(7)) ?? []).sort());
        }
        expect(outcomes).toEqual(Array(ROUNDS).fill('0000:A'));
      });

      test(`${ROUNDS} rounds of two old and two new applies at once on an applied node end in one of them, whole`, async () => {
        const outcomes: string[] = [];
        for (let round = 0; round < ROUNDS; round++) {
          ok(await sh(applyA), 'apply A');
          const results = await Promise.all([applyA, applyB, applyA, applyB].map((s) => sh(s)));
          const now = await state();
          const which = now.v4 === ref.a.v4 && now.v6 === ref.a.v6 ? 'A' : now.v4 === ref.b.v4 && now.v6 === ref.b.v6 ? 'B' : 'OTHER';
          outcomes.push(`${results.map((r) => r.code).join('')}:${which === 'OTHER' ? 'OTHER' : 'A|B'}`);
        }
        expect(outcomes).toEqual(Array(ROUNDS).fill('0000:A|B'));
        // the last apply wins: B ran last, alone
        ok(await sh(applyB), 'apply B');
        expect(await state()).toEqual(ref.b);
      });

      test(`${ROUNDS} applies SIGKILLed at random moments leave the old or the new rules, and the next apply needs no wait`, async () => {
        const rand = random(13 + flavour.prefix.charCodeAt(0));
        const outcomes: Record<string, number> = {};
        for (let round = 0; round < ROUNDS; round++) {
          ok(await sh(applyA), 'apply A');
          const delay = Math.floor(rand() * 120);
          await killedAfter(ns, `${env} exec sh ${applyB}`, delay);
          const now = await state();
          // each family commits atomically; the families commit one after the other
          const v4 = now.v4 === ref.a.v4 ? 'old' : now.v4 === ref.b.v4 ? 'new' : 'BROKEN';
          const v6 = now.v6 === ref.a.v6 ? 'old' : now.v6 === ref.b.v6 ? 'new' : 'BROKEN';
          outcomes[`v4 ${v4}, v6 ${v6}`] = (outcomes[`v4 ${v4}, v6 ${v6}`] ?? 0) + 1;
          const started = Date.now();
          const next = await sh(applyA);
          ok(next, 'apply after a kill');
          // the killed run's lock is taken over at once (same pid namespace: its pid is gone)
          expect(Date.now() - started).toBeLessThan(5000);
          expect(await state()).toEqual(ref.a);
        }
        expect(Object.keys(outcomes).filter((k) => k.includes('BROKEN'))).toEqual([]);
      });

      test('a lock held by a live run: a bounded wait, a clear message, nothing changed; taken over once its holder is gone', async () => {
        ok(await sh(applyA), 'apply A');
        const holder = spawn('sleep', ['60']);
        try {
          const start = (await nsExecOk(ns, `cut -d' ' -f22 /proc/${holder.pid}/stat`)).stdout.trim();
          const init = (await nsExecOk(ns, 'cut -d\' \' -f22 /proc/1/stat')).stdout.trim();
          const uptime = Number((await nsExecOk(ns, 'cut -d. -f1 /proc/uptime')).stdout);
          writeFileSync(join(lockDir, 'apply.lock'), `${holder.pid} ${start} ${init} ${uptime + 600}\n`);
          const began = Date.now();
          const blocked = await sh(applyB, 'HOSTNET_LOCK_WAIT_SECONDS=2');
          expect(blocked.code).toBe(1);
          expect(Date.now() - began).toBeLessThan(8000);
          expect(blocked.stderr).toContain(`hostnet: another apply or remove holds ${lockDir}/apply.lock (record: ${holder.pid} `);
          expect(blocked.stderr).toContain('hostnet: apply failed; the previous hostnet rules stay in force');
          expect(await state()).toEqual(ref.a);
        } finally {
          holder.kill('SIGKILL');
          await new Promise((resolve) => holder.on('exit', resolve));
        }
        const after = await sh(applyB);
        ok(after, 'apply B');
        expect(after.stderr).toMatch(/hostnet: took over the lock of an earlier run \(pid \d+ is gone\)/);
        expect(await state()).toEqual(ref.b);
      });

      test('a lock from another pid namespace is taken over when its lease runs out; a garbage lock at once', async () => {
        const uptime = Number((await nsExecOk(ns, 'cut -d. -f1 /proc/uptime')).stdout);
        writeFileSync(join(lockDir, 'apply.lock'), `4242 1 1 ${uptime + 2}\n`);
        const leased = await sh(applyA);
        ok(leased, 'apply A after the lease');
        expect(leased.stderr).toContain('hostnet: took over the lock of an earlier run (its lease ran out): 4242 1 1');
        writeFileSync(join(lockDir, 'apply.lock'), 'not a record\n');
        const garbage = await sh(applyB);
        ok(garbage, 'apply B over garbage');
        expect(garbage.stderr).toContain('hostnet: took over the lock of an earlier run (its record is unreadable)');
        expect(await state()).toEqual(ref.b);
      });

      test('a run that outlived its lease commits nothing', async () => {
        ok(await sh(applyA), 'apply A');
        const late = await sh(applyB, 'HOSTNET_LOCK_LEASE_SECONDS=0');
        expect(late.code).toBe(1);
        expect(late.stderr).toMatch(/hostnet: this run outlived its 0s lock lease before the (ipsets|rules); committing nothing/);
        expect(await state()).toEqual(ref.a);
      });

      test('a missing tool: the apply fails loudly and the previous rules stay; on a fresh node it says the node has none', async () => {
        // iptables: without ipset the sets cannot be made; nftables: without nft nothing can be done or listed
        const tool = flavour.iptables ? 'ipset' : 'nft';
        const shim = pathWithout(tmp, `${flavour.prefix}-no-${tool}`, tool);
        ok(await sh(applyA), 'apply A');
        const failed = await sh(applyB, `PATH=${shim}`);
        expect(failed.code).not.toBe(0);
        expect(failed.stderr).toContain(flavour.iptables ? 'hostnet: apply failed; the previous hostnet rules stay in force'
          : 'hostnet: apply failed: nft is not installed, so the rules in force (if any) are unchanged and cannot be listed');
        expect(await state()).toEqual(ref.a);
        await reset();
        const fresh = await sh(flavour.iptables ? applyB : applyA, `PATH=${shim}`);
        expect(fresh.code).not.toBe(0);
        if (flavour.iptables) expect(fresh.stderr).toContain('hostnet: APPLY FAILED and this node has NO hostnet rules: its traffic is not filtered by this policy');
        expect(await state()).toEqual(ref.none);
        // a failing tool on a fresh node (nft refuses the rule set): no rules, said loudly
        if (!flavour.iptables) {
          const broken = file('apply-broken.sh', scriptsA.apply.replace('ct state established,related accept', 'ct state bogus accept'));
          const refused = await sh(broken);
          expect(refused.code).not.toBe(0);
          expect(refused.stderr).toContain('hostnet: APPLY FAILED and this node has NO hostnet rules: its traffic is not filtered by this policy');
        }
      });

      if (flavour.iptables) {
        test('remove.sh without ipset fails loudly; with it, removes everything even past foreign jumps, and again', async () => {
          ok(await sh(applyA), 'apply A');
          const save = `iptables-${flavour.iptables}`;
          // another component jumps into our chains; an older release left a second jump
          await nsExecOk(ns, `${save} -A OUTPUT -p udp -m comment --comment "someone else" -j HOSTNET-OUTPUT`);
          await nsExecOk(ns, `${save} -I FORWARD 1 -s 10.0.0.0/8 -j HOSTNET-FORWARD`);
          await nsExecOk(ns, `ip6tables-${flavour.iptables} -A INPUT -j HOSTNET-INPUT`);
          const shim = pathWithout(tmp, `${flavour.prefix}-no-ipset-rm`, 'ipset');
          const noIpset = await sh(remove, `PATH=${shim}`);
          expect(noIpset.code).toBe(1);
          expect(noIpset.stderr).toContain('hostnet: ipset is not installed, so the hostnet-* sets (if any) were not removed');
          expect(noIpset.stdout).not.toContain('hostnet: removed NodeFirewall');
          expect(await ourSets()).not.toEqual([]);
          const removed = await sh(remove);
          ok(removed, 'remove.sh');
          expect(removed.stdout).toContain('hostnet: removed NodeFirewall hostnet');
          expect(await state()).toEqual(ref.none);
          expect(await ourSets()).toEqual([]);
          ok(await sh(remove), 'remove.sh again');
          expect(await state()).toEqual(ref.none);
        });

        for (const bad of ['ipv4', 'ipv6'] as const) {
          const good = bad === 'ipv4' ? 'ip6tables' : 'iptables';
          test(`${bad} rules the kernel refuses while the other family commits: that one is put back, nothing changed, on an applied node and a fresh one`, async () => {
            // the families commit at once, no --test pass: break one family's restore only
            const v4At = scriptsB.apply.indexOf('v4_ok=true\n"iptables-$mode-restore"');
            const v6At = scriptsB.apply.indexOf('"ip6tables-$mode-restore" -w 10 --noflush <<RULES &');
            expect(v6At).toBeGreaterThan(0);
            expect(v4At).toBeGreaterThan(v6At);
            const [from, to] = bad === 'ipv4' ? [v4At, scriptsB.apply.length] : [v6At, v4At];
            const broken = file(`apply-${bad}-broken.sh`, scriptsB.apply.slice(0, from) +
              scriptsB.apply.slice(from, to).replace('--ctstate RELATED,ESTABLISHED', '--ctstate BOGUS') + scriptsB.apply.slice(to));
            ok(await sh(applyA), 'apply A');
            const refused = await sh(broken);
            expect(refused.code).not.toBe(0);
            expect(refused.stderr).toContain(`hostnet: the other family's rules failed after the ${good} rules were committed; putting the previous ${good} rules back`);
            expect(refused.stderr).not.toContain('could not put the previous');
            expect(refused.stderr).toContain('hostnet: apply failed; the previous hostnet rules stay in force');
            expect(await state()).toEqual(ref.a);
            await reset();
            const fresh = await sh(broken);
            expect(fresh.code).not.toBe(0);
            expect(fresh.stderr).toContain('this node has NO hostnet rules');
            expect(await state()).toEqual(ref.none);
            expect(await ourSets()).toEqual([]);
          });
        }

        test('duplicate jumps left by an older release are cut back to one per chain', async () => {
          ok(await sh(applyA), 'apply A');
          const save = `iptables-${flavour.iptables}`;
          for (let i = 0; i < 2; i++) await nsExecOk(ns, `${save} -I INPUT 1 -m comment --comment cdk8s-hostnet -j HOSTNET-INPUT`);
          ok(await sh(applyA), 'apply A');
          expect(await state()).toEqual(ref.a);
          await reset();
        });
      }

      test('the capabilities the DaemonSet grants are enough, and needed', async () => {
        const container = findObject(synth({}), 'DaemonSet', 'hostnet-linux').spec.template.spec.containers[0];
        const caps: string[] = container.securityContext.capabilities.add;
        expect(caps).toEqual(flavour.iptables ? ['NET_ADMIN', 'NET_RAW'] : ['NET_ADMIN']);
        const bounded = (list: string[]) => `setpriv --bounding-set -all${list.map((c) => `,+${c.toLowerCase()}`).join('')} --inh-caps -all`;
        const applySmall = file('apply-small.sh', small.apply);
        const removeSmall = file('remove-small.sh', small.remove);
        ok(await nsExec(ns, `${env} ${bounded(caps)} sh ${applySmall}`), 'apply with the granted capabilities');
        ok(await nsExec(ns, `${env} ${bounded(caps)} sh ${removeSmall}`), 'remove with the granted capabilities');
        if (flavour.iptables) {
          // without NET_RAW the set match cannot open its socket: the apply fails, and says the node has none
          const noRaw = await nsExec(ns, `${env} ${bounded(['NET_ADMIN'])} sh ${applyA}`);
          expect(noRaw.code).not.toBe(0);
          expect(noRaw.stderr).toContain('this node has NO hostnet rules');
        }
      });
    });
  }
});

/** Runs `sh -c cmd` in a namespace in its own process group and SIGKILLs the whole group after `ms`. */
function killedAfter(ns: string, cmd: string, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn('ip', ['netns', 'exec', ns, 'sh', '-c', cmd], { detached: true, stdio: 'ignore' });
    const timer = setTimeout(() => {
      try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* finished already */ }
    }, ms);
    child.on('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** A PATH directory with every tool the scripts use except `missing`. */
function pathWithout(tmp: string, name: string, missing: string): string {
  const dir = join(tmp, name);
  mkdirSync(dir, { recursive: true });
  const tools = ['sh', 'dash', 'cat', 'grep', 'rm', 'ln', 'sleep', 'mkdir', 'cut', 'ipset', 'nft',
    'iptables-legacy-save', 'iptables-legacy-restore', 'ip6tables-legacy-save', 'ip6tables-legacy-restore',
    'iptables-nft-save', 'iptables-nft-restore', 'ip6tables-nft-save', 'ip6tables-nft-restore'];
  for (const tool of tools.filter((t) => t !== missing)) {
    const found = ['/usr/sbin', '/usr/bin', '/sbin', '/bin'].map((d) => join(d, tool)).find((p) => {
      try { accessSync(p); return true; } catch { return false; }
    });
    if (found) {
      try { symlinkSync(found, join(dir, tool)); } catch { /* made by an earlier test */ }
    }
  }
  return dir;
}
