// The point of `cdk8s-hostnet explain`: its verdict always equals what the kernel does. Seeded random
// flows (on and around every edge of every CIDR and port range of the policy, IPv4 and IPv6, udp and
// tcp, every scope) are sent as real first packets through the rules apply.sh put in place, for each
// profile's default policy and for random policies, on iptables-legacy, iptables-nft and nftables;
// explainFlow is asked about each: equal, every one. The egress and forward nodes DNAT the cluster DNS
// Service IP as kube-proxy does, and explain is given the endpoint (--dnat-to) for those flows.
// (icmp is left out: the sender speaks udp and tcp.)
// Runs under the machine-wide lock: flock /tmp/hostnet-e2e.lock npx jest test/e2e/explain-differential.e2e.test.ts
import { BENCH_LINKS, BenchFlow, FlowBench, UNROUTABLE } from './flow-bench';
import { describeE2e } from './require-root';
import { LinuxBackend } from '../../src/constructs/node-firewall';
import { Verdict, explainFlow } from '../../src/explain/explain-flow';
import { FirewallPolicy } from '../../src/policy/firewall-policy';
import { Protocol, TrafficScope } from '../../src/policy/protocol';
import { benchProfile, randomFirewall, randomFlows, Synthesized, synthFirewall, TestFlow } from '../explain/random-policy';
import { E2E_OVERRIDES, linuxScripts, PROFILE_NAMES } from '../util/synth';

const FLOWS_PER_POLICY = 240;
const RANDOM_POLICIES = 4;

interface Backend {
  readonly label: string;
  readonly backend: LinuxBackend;
  readonly env: Record<string, string>;
  readonly prefix: string;
}
const BACKENDS: Backend[] = [
  { label: 'iptables-legacy', backend: LinuxBackend.IPTABLES, env: { HOSTNET_IPTABLES_MODE: 'legacy' }, prefix: 'hxl' },
  { label: 'iptables-nft', backend: LinuxBackend.IPTABLES, env: { HOSTNET_IPTABLES_MODE: 'nft' }, prefix: 'hxn' },
  { label: 'nftables', backend: LinuxBackend.NFTABLES, env: {}, prefix: 'hxt' },
];

/** kube-proxy's DNAT of the cluster DNS Service (E2E_OVERRIDES) to a CoreDNS pod, on the egress and forward nodes. */
const DNAT = { service: E2E_OVERRIDES.clusterDnsIp, port: 53, endpoint: '198.19.2.2' };

const totals: Record<string, { flows: number; allowed: number; dnated: number; policies: number }> = {};

for (const b of BACKENDS) {
  describeE2e(`explain equals the kernel (${b.label})`, () => {
    let bench: FlowBench;
    const total = (totals[b.label] = { flows: 0, allowed: 0, dnated: 0, policies: 0 });

    beforeAll(async () => {
      bench = await FlowBench.create(b.prefix, DNAT);
    });
    afterAll(async () => {
      await bench?.destroy();
      console.log(`explain differential (${b.label}): ${total.flows} flows compared on ${total.policies} policies, ${total.allowed} of them allowed, ${total.dnated} DNATed`);
    });

    /** Applies the firewall, sends the flows, removes it; mismatches as text. */
    async function compare(fw: Synthesized, seed: number): Promise<string[]> {
      const scripts = linuxScripts(fw.objects);
      const options = { protocols: [Protocol.UDP, Protocol.TCP], exclude: [...BENCH_LINKS, ...UNROUTABLE] };
      const random = randomFlows([fw.linux], seed, FLOWS_PER_POLICY, options);
      // and some of them aimed at the cluster DNS Service, which the bench DNATs
      const toService = random.filter((f) => f.scope !== TrafficScope.NODE_INGRESS && !f.source.includes(':')).slice(0, 24)
        .map((f) => ({ ...f, destination: DNAT.service, destinationPort: DNAT.port }));
      const drawn = [...random, ...toService];
      // one flow per 5-tuple and scope, and none from an address to itself
      const seen = new Set<string>();
      const flows = drawn.filter((f) => {
        const k = JSON.stringify(f);
        if (f.source === f.destination || f.source === DNAT.endpoint || seen.has(k)) return false;
        seen.add(k);
        return true;
      });
      await bench.runEverywhere(scripts.apply, b.env);
      const problems: string[] = [];
      try {
        // one node namespace per scope: the three run at once
        await Promise.all(Object.values(TrafficScope).map(async (scope) => {
          // what kube-proxy rewrites on the bench, explain is told (--dnat-to)
          const dnated = (f: TestFlow) => scope !== TrafficScope.NODE_INGRESS && f.destination === DNAT.service && f.destinationPort === DNAT.port;
          const mine = flows.filter((f) => f.scope === scope).map((f) => (dnated(f) ? { ...f, dnatDestination: DNAT.endpoint } : f));
          const sent: BenchFlow[] = mine.map((f) => ({
            proto: f.protocol as 'udp' | 'tcp', src: f.source, dst: f.destination, sport: f.sourcePort!, dport: f.destinationPort!, dnatDst: f.dnatDestination,
          }));
          const arrived = await bench.send(scope, sent);
          mine.forEach((f, i) => {
            const explained = explainFlow(fw.linux, f);
            total.flows++;
            if (f.dnatDestination) total.dnated++;
            if (arrived[i]) total.allowed++;
            if ((explained.verdict === Verdict.ALLOW) !== arrived[i]) {
              problems.push(`seed ${seed}: ${JSON.stringify(f)}: explain ${explained.verdict} (${explained.reason}); the kernel ${arrived[i] ? 'let it through' : 'dropped it'}`);
            }
          });
        }));
      } finally {
        await bench.runEverywhere(scripts.remove, b.env);
      }
      total.policies++;
      return problems;
    }

    test.each(PROFILE_NAMES)('profile %s, default policy: every verdict equal', async (profile) => {
      const problems = await compare(synthFirewall(benchProfile(profile), FirewallPolicy.denyUdp(), b.backend), 11);
      expect(problems.slice(0, 10)).toEqual([]);
    });

    test(`${RANDOM_POLICIES} random policies: every verdict equal`, async () => {
      const problems: string[] = [];
      for (let seed = 1; seed <= RANDOM_POLICIES; seed++) {
        problems.push(...await compare(randomFirewall(seed * 7, benchProfile(PROFILE_NAMES[seed % PROFILE_NAMES.length]), b.backend), seed * 7));
      }
      expect(problems.slice(0, 10)).toEqual([]);
    });
  });
}
