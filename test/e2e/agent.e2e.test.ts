// The Linux agent's loop (run.sh, as synthesized) on a real kernel, against a real DNS server
// (dnsmasq) and a real TCP listener standing in for the API server: a policy that cuts DNS is
// reverted to the last good one and the pod reports not Ready; a changed ConfigMap does not reach a
// running agent; drift is repaired within seconds and reported; remove mode cleans the node.
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deleteNamespace, nsExec, nsExecOk, run } from './netns';
import { describeE2e } from './require-root';
import { findObject, synthProfile } from '../util/synth';

/** The cluster as the agent sees it: every service on the `svc` side of one link. */
const NET = {
  node: '198.18.0.2',
  apiServer: '198.18.0.1',
  clusterDns: '198.18.0.10',
  upstream: '198.18.0.53',
};
const CONFIG = {
  podCidrs: ['198.19.0.0/16'],
  serviceCidrs: ['198.18.64.0/18'],
  clusterDnsIp: NET.clusterDns,
  upstreamResolvers: [NET.upstream],
  nodeCidrs: ['198.18.0.0/24'],
  apiServer: `${NET.apiServer}:6443`,
};
/** A policy that cuts DNS to the upstream resolver: the rollout the agent must stop and revert. */
const CUTS_DNS = {
  exemptions: [{
    id: 'cut-upstream-dns',
    action: 'deny',
    overrideFailsafe: true,
    protocol: 'udp',
    scopes: ['nodeEgress'],
    destinations: [NET.upstream],
    destinationPorts: ['53'],
    description: 'a mistake: cuts DNS to the upstream resolver',
  }],
};
/** A harmless change, so the good policy differs from the first one. */
const NTP = {
  exemptions: [{ id: 'ntp', protocol: 'udp', scopes: ['nodeEgress'], destinations: ['198.18.0.123'], destinationPorts: ['123'], description: 'NTP' }],
};

const BACKENDS = [
  { label: 'iptables-nft', overrides: {}, env: 'HOSTNET_IPTABLES_MODE=nft', prefix: 'i' },
  { label: 'nftables', overrides: { linuxBackend: 'nftables' }, env: '', prefix: 't' },
];

/** What the synth app writes into the Linux ConfigMap, and the DaemonSet's readiness command. */
function synthFiles(overrides: object) {
  const objects = synthProfile('generic', { ...CONFIG, ...overrides });
  const data = findObject(objects, 'ConfigMap', 'hostnet-linux-scripts').data;
  const container = findObject(objects, 'DaemonSet', 'hostnet-linux').spec.template.spec.containers[0];
  return { files: data as Record<string, string>, readiness: container.readinessProbe.exec.command as string[] };
}

interface Agent {
  readonly process: ChildProcess;
  /** stderr lines with the ms since start they arrived at */
  readonly lines: { at: number; text: string }[];
  readonly started: number;
}

describeE2e('the Linux agent loop (run.sh) on a real kernel', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'hostnet-agent-'));
  const busybox = ['/bin/busybox', '/usr/bin/busybox'].find(existsSync) ?? 'busybox';
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  for (const backend of BACKENDS) {
    describe(backend.label, () => {
      const node = `hag${backend.prefix}-node`;
      const svc = `hag${backend.prefix}-svc`;
      const agents: Agent[] = [];
      let servers: ChildProcess[] = [];
      let nodeDir: string;
      const sh = (cmd: string) => nsExec(node, cmd);
      const synth = (overrides: object) => synthFiles({ ...backend.overrides, ...overrides });

      /** Writes a ConfigMap's files to a directory, as the kubelet mounts it. */
      const mount = (files: Record<string, string>, name: string) => {
        const dir = join(tmp, `${backend.prefix}-${name}`);
        mkdirSync(dir, { recursive: true });
        for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text);
        return dir;
      };
      const env = (scripts: string, pod: string, extra = '') =>
        `${backend.env} HOSTNET_SCRIPTS=${scripts} HOSTNET_POD_DIR=${pod} HOSTNET_LOCK_DIR=${nodeDir} HOSTNET_BUSYBOX=${busybox} ${extra}`;

      /** Starts run.sh as a new pod would: a fresh pod directory, the node's directory kept. */
      function startAgent(scripts: string, name: string, extra = ''): { agent: Agent; pod: string } {
        const pod = join(tmp, `${backend.prefix}-pod-${name}`);
        rmSync(pod, { recursive: true, force: true });
        mkdirSync(pod, { recursive: true });
        // stdout and stderr in one stream, as kubectl logs shows them
        const child = spawn('ip', ['netns', 'exec', node, 'sh', '-c', `${env(scripts, pod, extra)} exec sh ${scripts}/run.sh 2>&1`], { stdio: ['ignore', 'pipe', 'ignore'] });
        const agent: Agent = { process: child, lines: [], started: Date.now() };
        child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
          for (const text of chunk.split('\n').filter(Boolean)) agent.lines.push({ at: Date.now() - agent.started, text });
        });
        agents.push(agent);
        return { agent, pod };
      }
      async function stop(agent: Agent) {
        if (agent.process.exitCode !== null || agent.process.signalCode !== null) return;
        const exited = new Promise((resolve) => agent.process.on('exit', resolve));
        agent.process.kill('SIGTERM');
        await exited;
      }
      async function until<T>(what: string, agent: Agent, probe: () => Promise<T | undefined> | T | undefined, ms = 30_000): Promise<T> {
        const end = Date.now() + ms;
        for (;;) {
          const value = await probe();
          if (value !== undefined) return value;
          if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms; agent said:\n${agent.lines.map((l) => `${l.at} ${l.text}`).join('\n')}`);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
      const state = async (scripts: string) => (await sh(`${backend.env} sh ${scripts}/apply.sh state`)).stdout;
      const readiness = async (command: string[], pod: string) => nsExec(node, `HOSTNET_POD_DIR=${pod} ${command.map((a) => `'${a.replace(/'/g, '\'\\\'\'')}'`).join(' ')}`);
      const resetNode = async (scripts: string) => {
        await sh(`${env(scripts, tmp)} sh ${scripts}/remove.sh`);
        rmSync(nodeDir, { recursive: true, force: true });
        mkdirSync(nodeDir, { recursive: true });
      };

      beforeAll(async () => {
        nodeDir = join(tmp, `${backend.prefix}-node`);
        mkdirSync(nodeDir, { recursive: true });
        for (const ns of [node, svc]) await deleteNamespace(ns);
        await run('ip', ['netns', 'add', node]);
        await run('ip', ['netns', 'add', svc]);
        await nsExecOk(undefined, `ip link add hag${backend.prefix}n netns ${node} type veth peer name hag${backend.prefix}s netns ${svc}`);
        await nsExecOk(node, `ip link set lo up && ip link set hag${backend.prefix}n up && ip addr add ${NET.node}/24 dev hag${backend.prefix}n`);
        await nsExecOk(svc, `ip link set lo up && ip link set hag${backend.prefix}s up && ip addr add ${NET.apiServer}/24 dev hag${backend.prefix}s`
          + ` && ip addr add ${NET.clusterDns}/24 dev hag${backend.prefix}s && ip addr add ${NET.upstream}/24 dev hag${backend.prefix}s`);
        servers = [
          spawn('ip', ['netns', 'exec', svc, 'dnsmasq', '--no-daemon', '--no-resolv', '--no-hosts', '--bind-interfaces',
            `--listen-address=${NET.clusterDns}`, `--listen-address=${NET.upstream}`, '--address=/kubernetes.default.svc.cluster.local/198.18.64.1',
            `--pid-file=${join(tmp, `${backend.prefix}-dnsmasq.pid`)}`], { stdio: 'ignore' }),
          spawn('ip', ['netns', 'exec', svc, busybox, 'nc', '-ll', '-p', '6443', '-e', '/bin/true'], { stdio: 'ignore' }),
        ];
        // both answer before any test starts
        await new Promise((resolve) => setTimeout(resolve, 500));
        const dns = await nsExec(node, `${busybox} nslookup -type=a kubernetes.default.svc.cluster.local ${NET.upstream}`);
        expect(dns.stdout).toContain('198.18.64.1');
      });
      // a test that failed half-way must not leave its agent re-applying under the next one
      afterEach(async () => {
        for (const agent of agents) await stop(agent);
      });
      afterAll(async () => {
        for (const server of servers) server.kill('SIGKILL');
        for (const ns of [node, svc]) await deleteNamespace(ns);
      });

      test('a policy that cuts DNS is reverted to the last good one within seconds, and the pod says why (not Ready)', async () => {
        // GIVEN a node whose agent applied a good policy, which passed the checks
        const good = synth(NTP);
        const goodDir = mount(good.files, 'good');
        await resetNode(goodDir);
        const first = startAgent(goodDir, 'good');
        await until('the good policy is applied and Ready', first.agent, () => (existsSync(join(first.pod, 'ready')) ? true : undefined));
        expect(first.agent.lines.map((l) => l.text).join('\n')).toMatch(
          new RegExp(`checks passing: dns:cluster-dns:${NET.clusterDns} dns:upstream:${NET.upstream} tcp:api-server:${NET.apiServer}:6443`));
        const goodState = await state(goodDir);
        expect(goodState).toContain('ntp');
        expect((await readiness(good.readiness, first.pod)).code).toBe(0);
        await stop(first.agent);

        // WHEN the rollout replaces the pod with one whose policy cuts DNS to the upstream resolver
        const bad = synth(CUTS_DNS);
        const badDir = mount(bad.files, 'bad');
        const second = startAgent(badDir, 'bad');
        const reverted = await until('the revert', second.agent, () => second.agent.lines.find((l) => l.text.includes('reverted to policy')));

        // THEN the node is back on the good policy, byte for byte, and the pod is not Ready, saying why
        expect(reverted.text).toMatch(new RegExp(`hostnet: policy [0-9a-f]{64} broke dns:upstream:${NET.upstream} on this node: reverted to policy [0-9a-f]{64}, the last that passed here`));
        expect(await state(goodDir)).toBe(goodState);
        const probe = await readiness(bad.readiness, second.pod);
        expect(probe.code).toBe(1);
        expect(probe.stdout).toContain(`broke dns:upstream:${NET.upstream} on this node: reverted to policy`);
        const applied = second.agent.lines.find((l) => /hostnet: applied NodeFirewall/.test(l.text))!;
        console.log(`${backend.label}: bad policy applied at ${applied.at} ms after the pod started, reverted at ${reverted.at} ms (${reverted.at - applied.at} ms later)`);
        expect(reverted.at - applied.at).toBeLessThan(10_000);
        // the loop keeps the reverted policy in force: drift on it is repaired too
        await stop(second.agent);
      });

      test('a first install that cuts DNS is reverted to no rules', async () => {
        const bad = synth(CUTS_DNS);
        const badDir = mount(bad.files, 'bad-first');
        await resetNode(badDir);
        const none = await state(badDir);
        const { agent, pod } = startAgent(badDir, 'bad-first');
        const reverted = await until('the revert', agent, () => agent.lines.find((l) => l.text.includes('reverted to no rules')));
        expect(reverted.text).toContain('(no earlier policy passed here)');
        expect(await state(badDir)).toBe(none);
        expect((await readiness(bad.readiness, pod)).code).toBe(1);
        await stop(agent);
      });

      test('a running agent keeps the policy it started with when the ConfigMap changes under it', async () => {
        const good = synth(NTP);
        const dir = mount(good.files, 'live');
        await resetNode(dir);
        const { agent, pod } = startAgent(dir, 'live', 'HOSTNET_DRIFT_SECONDS=1 HOSTNET_REAPPLY_SECONDS=2');
        await until('Ready', agent, () => (existsSync(join(pod, 'ready')) ? true : undefined));
        const before = await state(dir);
        // WHEN the mounted ConfigMap is updated (as the kubelet does for a running pod)
        const other = synth({});
        for (const [file, text] of Object.entries(other.files)) writeFileSync(join(dir, file), text);
        // THEN two full re-applies later the node still runs the policy the pod started with
        const reapplies = () => agent.lines.filter((l) => l.text.startsWith('hostnet: applied NodeFirewall')).length;
        const start = reapplies();
        await until('two periodic re-applies', agent, () => (reapplies() >= start + 2 ? true : undefined));
        expect(readFileSync(join(pod, 'apply.sh'), 'utf8')).toBe(good.files['apply.sh']);
        expect(await state(join(tmp, `${backend.prefix}-good`))).toBe(before);
        expect(before).toContain('ntp');
        await stop(agent);
      });

      test('drift is found by a cheap comparison, reported, and repaired within the check interval', async () => {
        const good = synth(NTP);
        const dir = mount(good.files, 'drift');
        await resetNode(dir);
        const { agent, pod } = startAgent(dir, 'drift', 'HOSTNET_DRIFT_SECONDS=2');
        await until('Ready', agent, () => (existsSync(join(pod, 'ready')) ? true : undefined));
        const applied = await state(dir);
        const breakings = backend.label === 'nftables'
          ? ['nft delete table inet hostnet', 'nft flush chain inet hostnet output']
          : ['iptables-nft -F HOSTNET-OUTPUT', 'iptables-nft -D OUTPUT -m comment --comment cdk8s-hostnet -j HOSTNET-OUTPUT'];
        for (const breaking of breakings) {
          const reports = agent.lines.filter((l) => l.text.includes('drift: rules of ours changed')).length;
          const broke = Date.now() - agent.started;
          await nsExecOk(node, breaking);
          expect(await state(dir)).not.toBe(applied);
          const repaired = await until(`repair after '${breaking}'`, agent,
            async () => (agent.lines.filter((l) => l.text.includes('drift: rules of ours changed')).length > reports && await state(dir) === applied ? Date.now() - agent.started : undefined));
          console.log(`${backend.label}: '${breaking}' repaired ${repaired - broke} ms later`);
          expect(repaired - broke).toBeLessThan(2000 + 5000);
        }
        // the report names what went missing
        expect(agent.lines.map((l) => l.text).join('\n')).toMatch(backend.label === 'nftables' ? /missing table inet hostnet/ : /-A HOSTNET-OUTPUT .*ntp/);
        await stop(agent);
      });

      test('hostnet.prom is written as the agent runs, and the real node-exporter serves it with the manifest\'s flags', async () => {
        // GIVEN an agent that writes its metrics into a directory, every second
        const good = synth(NTP);
        const dir = mount(good.files, 'metrics');
        await resetNode(dir);
        const metricsDir = join(tmp, `${backend.prefix}-metrics`);
        mkdirSync(metricsDir, { recursive: true });
        const { agent, pod } = startAgent(dir, 'metrics', `HOSTNET_METRICS_DIR=${metricsDir} HOSTNET_METRICS_SECONDS=1 HOSTNET_DRIFT_SECONDS=1`);
        await until('Ready', agent, () => (existsSync(join(pod, 'ready')) ? true : undefined));
        const prom = join(metricsDir, 'hostnet.prom');
        await until('hostnet.prom', agent, () => (existsSync(prom) ? true : undefined));
        // a drift repair shows in the counter
        await nsExecOk(node, backend.label === 'nftables' ? 'nft delete table inet hostnet' : 'iptables-nft -F HOSTNET-OUTPUT');
        await until('a drift repair in hostnet.prom', agent, () => (/^hostnet_drift_repairs_total 1$/m.test(readFileSync(prom, 'utf8')) ? true : undefined));
        const text = readFileSync(prom, 'utf8');
        expect(text).toMatch(new RegExp(`^hostnet_policy_info\\{policy_sha256="[0-9a-f]{64}",mode="enforce",backend="${backend.label === 'nftables' ? 'nftables' : 'iptables'}",version="[^"]+"\\} 1$`, 'm'));
        expect(text).toMatch(/^hostnet_apply_success 1$/m);
        expect(text).toMatch(/^hostnet_last_apply_timestamp_seconds \d{10}$/m);
        expect(text).toMatch(/^hostnet_apply_duration_seconds \d+\.\d\d$/m);
        expect(text).toMatch(/^hostnet_reverts_total 0$/m);
        expect(text).toMatch(/^hostnet_rule_packets_total\{rule="ntp",action="allow",direction="egress",family="ipv4"\} \d+$/m);
        expect(spawnSync('sh', ['-c', `promtool check metrics < ${prom} 2>&1`], { encoding: 'utf8' }).stdout).toBe('');

        // WHEN the node-exporter of Debian runs with the sidecar's flags (its directory and port moved)
        const daemonSet = findObject(synthProfile('generic', { ...CONFIG, ...backend.overrides, ...NTP }), 'DaemonSet', 'hostnet-linux');
        const sidecar = daemonSet.spec.template.spec.containers.find((c: any) => c.name === 'metrics');
        const port = 19847;
        const args = (sidecar.args as string[]).map((a) => a
          .replace('--collector.textfile.directory=/run/hostnet-metrics', `--collector.textfile.directory=${metricsDir}`)
          .replace(`--web.listen-address=:${sidecar.ports[0].containerPort}`, `--web.listen-address=127.0.0.1:${port}`));
        expect(args).toContain(`--collector.textfile.directory=${metricsDir}`);
        const exporter = spawn('ip', ['netns', 'exec', node, 'prometheus-node-exporter', ...args], { stdio: 'ignore' });
        try {
          const scraped = await until('a scrape', agent, async () => {
            const r = await nsExec(node, `${busybox} wget -q -O - http://127.0.0.1:${port}/metrics`);
            return r.code === 0 ? r.stdout : undefined;
          });
          // THEN the scrape carries our samples, and nothing the sidecar was told not to collect
          expect(scraped).toMatch(/^hostnet_rule_packets_total\{action="allow",direction="egress",family="ipv4",rule="ntp"\} \d+$/m);
          expect(scraped).toMatch(/^hostnet_drift_repairs_total [1-9]/m);
          expect(scraped).toMatch(/^node_textfile_scrape_error 0$/m);
          expect(scraped).not.toMatch(/^node_cpu_seconds_total/m);
          console.log(`${backend.label}: a scraped sample: ${scraped.split('\n').find((l) => l.startsWith('hostnet_rule_packets_total{action="allow",direction="egress",family="ipv4",rule="ntp"}'))}`);
        } finally {
          exporter.kill('SIGKILL');
        }
      });

      test('remove mode removes the rules, forgets the node\'s last good policy and stays Ready', async () => {
        const good = synth(NTP);
        const dir = mount(good.files, 'before-remove');
        await resetNode(dir);
        const none = await state(dir);
        const first = startAgent(dir, 'before-remove');
        await until('Ready', first.agent, () => (existsSync(join(first.pod, 'ready')) ? true : undefined));
        await stop(first.agent);
        expect(existsSync(join(nodeDir, 'good-apply.sh'))).toBe(true);
        const removal = synth({ mode: 'remove' });
        const removeDir = mount(removal.files, 'remove');
        const { agent, pod } = startAgent(removeDir, 'remove');
        await until('Ready after removing', agent, () => (existsSync(join(pod, 'ready')) ? true : undefined));
        expect(await state(dir)).toBe(none);
        expect(existsSync(join(nodeDir, 'good-apply.sh'))).toBe(false);
        expect((await readiness(removal.readiness, pod)).code).toBe(0);
        await stop(agent);
      });
    });
  }
});
