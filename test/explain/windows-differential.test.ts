// explainFlow against Windows Firewall, as the rules read back from the synthesized apply.ps1's
// syntax tree decide under Microsoft's precedence (test/windows/firewall-evaluator.ts: Block beats
// Allow, no rule order). The same seeded random flows as the Linux differential test, on every
// profile and on random policies: the verdicts must be equal, every one. explain's ALLOW means "no
// Block rule of this firewall matches" (the host's own inbound rules still apply after it).
// Loopback flows are left out: Windows does not filter them, and the rule evaluator has no notion of it.
import { benchProfile, randomFirewall, randomFlows, Synthesized, synthFirewall, TestFlow } from './random-policy';
import { Protocol, TrafficScope } from '../../src';
import { Verdict, explainFlow } from '../../src/explain/explain-flow';
import { mustParseCidr } from '../../src/policy/cidr';
import { FirewallPolicy } from '../../src/policy/firewall-policy';
import { windowsScripts, PROFILE_NAMES } from '../util/synth';
import { Flow as WindowsFlow, ParsedRule, readRules, ruleMatches } from '../windows/firewall-evaluator';

const FLOWS_PER_POLICY = 400;
// Windows does not filter loopback traffic, which the rule evaluator does not model: no such flow here
const LOOPBACK = [mustParseCidr('127.0.0.0/8'), mustParseCidr('::1/128')];
const RANDOM_POLICIES = 30;
let compared = 0;

/** What the parsed rules do with a flow: blocked iff a Block rule matches (podForward never reaches them). */
function windowsBlocks(rules: ParsedRule[], f: TestFlow): boolean {
  if (f.scope === TrafficScope.POD_FORWARD) return false;
  const inbound = f.scope === TrafficScope.NODE_INGRESS;
  const protocol = f.protocol === Protocol.ICMP ? (f.source.includes(':') ? 'ICMPV6' : 'ICMPV4') : f.protocol.toUpperCase();
  const flow = {
    direction: inbound ? 'Inbound' : 'Outbound',
    protocol,
    remoteAddress: inbound ? f.source : f.destination,
    localAddress: inbound ? f.destination : f.source,
    remotePort: (inbound ? f.sourcePort : f.destinationPort) ?? 0,
    localPort: (inbound ? f.destinationPort : f.sourcePort) ?? 0,
  } as WindowsFlow;
  return rules.some((r) => r.action === 'Block' && ruleMatches(r, flow));
}

async function compare(fw: Synthesized, seed: number): Promise<string[]> {
  const rules = await readRules(windowsScripts(fw.objects).apply);
  const flows = randomFlows([fw.windows], seed, FLOWS_PER_POLICY, { protocols: [Protocol.UDP, Protocol.TCP, Protocol.ICMP], exclude: LOOPBACK });
  const mismatches: string[] = [];
  for (const f of flows) {
    const explained = explainFlow(fw.windows, f);
    const blocked = windowsBlocks(rules, f);
    compared++;
    if ((explained.verdict === Verdict.DENY) !== blocked) {
      mismatches.push(`seed ${seed}: ${JSON.stringify(f)}: explain ${explained.verdict} (${explained.reason}), apply.ps1 ${blocked ? 'blocks' : 'does not block'}`);
    }
  }
  return mismatches;
}

describe('explainFlow equals Windows Firewall on the synthesized apply.ps1', () => {
  afterAll(() => console.log(`windows differential: ${compared} flows compared`));

  test.each(PROFILE_NAMES)('profile %s, default policy: every verdict equal', async (profile) => {
    const mismatches = await compare(synthFirewall(benchProfile(profile), FirewallPolicy.denyUdp()), 7);
    expect(mismatches.slice(0, 10)).toEqual([]);
  });

  test(`${RANDOM_POLICIES} random policies: every verdict equal`, async () => {
    const mismatches: string[] = [];
    for (let seed = 1; seed <= RANDOM_POLICIES; seed++) {
      mismatches.push(...await compare(randomFirewall(seed, benchProfile(PROFILE_NAMES[seed % PROFILE_NAMES.length])), seed));
    }
    expect(mismatches.slice(0, 10)).toEqual([]);
  });
});
