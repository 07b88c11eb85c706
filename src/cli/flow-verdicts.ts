import { UsageError } from './usage';
import { Flow, FlowVerdict, MissingPortError, Verdict, combine, explainFlow } from '../explain/explain-flow';
import { HostPolicy } from '../explain/host-policy';
import { NodeOs } from '../policy/node-os';

/** Each firewall's verdict on a flow at nodes of one OS, and the combined one. */
export interface FlowVerdicts {
  readonly firewalls: FlowVerdict[];
  /** A packet passes only if every firewall that selects the node allows it. */
  readonly combined: Verdict;
}

const PORT_FLAGS = { sourcePort: '--sport', destinationPort: '--dport' };

/** Asks every firewall of `os` (or only `firewall`); `flagNames` turns a missing port into the flag to give. */
export function flowVerdicts(policies: HostPolicy[], os: NodeOs, flow: Flow, firewall?: string, flagNames = true): FlowVerdicts {
  const forOs = policies.filter((p) => p.nodeOs === os);
  if (forOs.length === 0) {
    const oses = [...new Set(policies.map((p) => p.nodeOs))].join(', ');
    throw new UsageError(`no firewall of DIST is rendered for ${os} nodes (only for: ${oses})`);
  }
  const chosen = firewall === undefined ? forOs : forOs.filter((p) => p.firewall === firewall);
  if (chosen.length === 0) {
    throw new UsageError(`no firewall ${JSON.stringify(firewall)} for ${os} nodes in DIST; its firewalls are: ${forOs.map((p) => p.firewall).join(', ')}`);
  }
  try {
    const firewalls = chosen.map((p) => explainFlow(p, flow));
    return { firewalls, combined: combine(firewalls) };
  } catch (error) {
    if (error instanceof MissingPortError) {
      const field = flagNames ? PORT_FLAGS[error.field] : error.field;
      throw new UsageError(`the verdict depends on the ${error.field === 'sourcePort' ? 'source' : 'destination'} port: give ${field} (rule ${error.ruleId} matches ${error.ports})`);
    }
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}
