import { address, oneOf, port } from './explain-command';
import { flowVerdicts } from './flow-verdicts';
import { Output, verdictLine } from './output';
import { readDist, readYaml } from './read-dist';
import { UsageError, parseFlags } from './usage';
import { Flow, FlowVerdict, Verdict } from '../explain/explain-flow';
import { NodeOs } from '../policy/node-os';
import { Protocol, TrafficScope } from '../policy/protocol';

const FIELDS = ['name', 'nodeOs', 'scope', 'protocol', 'source', 'destination', 'sourcePort', 'destinationPort', 'dnatDestination', 'firewall', 'expect'];

interface Case {
  readonly name: string;
  readonly nodeOs: NodeOs;
  readonly flow: Flow;
  readonly firewall?: string;
  readonly expect: Verdict;
}

/** `test DIST FLOWS.yaml`: each flow against its expected verdict; a table, `N passed, N failed`, exit 1 on a failure. */
export function testCommand(args: string[], io: Output): number {
  const { positional, flags } = parseFlags('test', args, { json: 'boolean' });
  if (positional.length !== 2) {
    throw new UsageError(`test: expected DIST and FLOWS.yaml, got ${positional.length ? positional.map((p) => JSON.stringify(p)).join(' ') : 'none'}`, true);
  }
  const policies = readDist(positional[0]);
  const cases = readCases(positional[1]);
  const results = cases.map((c, i) => {
    let verdicts;
    try {
      verdicts = flowVerdicts(policies, c.nodeOs, c.flow, c.firewall, false);
    } catch (error) {
      throw new UsageError(`${positional[1]}: flows[${i}] (${c.name}): ${error instanceof Error ? error.message : String(error)}`);
    }
    const decided: FlowVerdict = verdicts.firewalls.length === 1 ? verdicts.firewalls[0]
      : verdicts.firewalls.find((v) => v.verdict === Verdict.DENY) ?? verdicts.firewalls[0];
    return { case: c, verdict: verdicts.combined, decided, passed: verdicts.combined === c.expect };
  });
  const passed = results.filter((r) => r.passed).length;
  const failed = results.length - passed;
  if (flags.has('json')) {
    io.out(`${JSON.stringify({
      passed,
      failed,
      results: results.map((r) => ({
        name: r.case.name,
        passed: r.passed,
        expected: r.case.expect,
        verdict: r.verdict,
        firewall: r.decided.firewall,
        ruleId: r.decided.ruleId,
        isDefault: r.decided.isDefault,
        reason: r.decided.reason,
      })),
    }, undefined, 2)}\n`);
    return failed > 0 ? 1 : 0;
  }
  const rows = results.map((r) => {
    const f = r.case.flow;
    const at = (addr: string, p?: number) => (p === undefined ? addr : addr.includes(':') ? `[${addr}]:${p}` : `${addr}:${p}`);
    return [r.passed ? 'PASS' : 'FAIL', r.case.nodeOs, f.scope, f.protocol, `${at(f.source, f.sourcePort)} -> ${at(f.destination, f.destinationPort)}`,
      `${r.verdict}${r.passed ? '' : ` (expected ${r.case.expect})`}`, r.case.name,
      r.passed ? '' : `\n      ${r.decided.firewall}: ${verdictLine(r.decided)}: ${r.decided.reason}`];
  });
  const widths = [0, 1, 2, 3, 4, 5].map((i) => Math.max(...rows.map((row) => row[i].length)));
  for (const row of rows) io.out(`${row.slice(0, 6).map((cell, i) => cell.padEnd(widths[i])).join('  ')}  ${row[6]}${row[7]}\n`);
  io.out(`${passed} passed, ${failed} failed\n`);
  return failed > 0 ? 1 : 0;
}

function readCases(file: string): Case[] {
  let docs: any[];
  try {
    docs = readYaml(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new UsageError(`FLOWS.yaml ${JSON.stringify(file)} does not exist`);
    throw error;
  }
  const flows = docs[0]?.flows;
  if (docs.length !== 1 || !Array.isArray(flows) || flows.length === 0) {
    throw new UsageError(`${file}: must be one YAML document with a non-empty list "flows" (each: name, nodeOs, scope, protocol, source, destination, [sourcePort], [destinationPort], expect)`);
  }
  return flows.map((f: any, i: number) => {
    const at = `${file}: flows[${i}]`;
    if (typeof f !== 'object' || f === null || Array.isArray(f)) throw new UsageError(`${at} must be a mapping`);
    const unknown = Object.keys(f).find((k) => !FIELDS.includes(k));
    if (unknown) throw new UsageError(`${at}.${unknown} is not a field of a flow (fields: ${FIELDS.join(', ')})`);
    const field = (name: string, required = true): string | undefined => {
      const v = f[name];
      if (v === undefined || v === null) {
        if (required) throw new Error(`${name} is required`);
        return undefined;
      }
      return String(v);
    };
    const wrap = <T>(fn: () => T): T => {
      try {
        return fn();
      } catch (error) {
        throw new UsageError(`${at}.${error instanceof Error ? error.message : String(error)}`);
      }
    };
    return {
      name: field('name', false) ?? `flow ${i + 1}`,
      nodeOs: wrap(() => oneOf('nodeOs', field('nodeOs')!, Object.values(NodeOs))),
      firewall: field('firewall', false),
      expect: wrap(() => oneOf('expect', field('expect')!.toUpperCase(), Object.values(Verdict))),
      flow: {
        scope: wrap(() => oneOf('scope', field('scope')!, Object.values(TrafficScope))),
        protocol: wrap(() => oneOf('protocol', field('protocol')!, [Protocol.UDP, Protocol.TCP, Protocol.ICMP])),
        source: wrap(() => address('source', field('source')!)),
        destination: wrap(() => address('destination', field('destination')!)),
        sourcePort: wrap(() => port('sourcePort', field('sourcePort', false))),
        destinationPort: wrap(() => port('destinationPort', field('destinationPort', false))),
        dnatDestination: field('dnatDestination', false) === undefined ? undefined : wrap(() => address('dnatDestination', field('dnatDestination')!)),
      },
    };
  });
}
