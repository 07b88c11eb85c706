/** A mistake in the command line or its inputs: one line, and exit code 2. */
export class UsageError extends Error {
  public constructor(message: string, public readonly showUsage = false) {
    super(message);
  }
}

export const USAGE = {
  explain: 'cdk8s-hostnet explain DIST --node-os linux|windows --scope nodeIngress|nodeEgress|podForward --proto udp|tcp|icmp '
    + '--src ADDR --dst ADDR [--sport N] [--dport N] [--dnat-to ADDR] [--firewall NAME] [--json]',
  diff: 'cdk8s-hostnet diff OLD_DIST NEW_DIST [--json] [--exit-code]',
  test: 'cdk8s-hostnet test DIST FLOWS.yaml [--json]',
};

export const HELP = `cdk8s-hostnet: ask a synthesized dist/ what the host firewall does, before it is applied.

  ${USAGE.explain}
      ALLOW or DENY for one flow's first packet, the rule that decided (or the default) and why.
      Exit 0 whatever the verdict.
  ${USAGE.diff}
      Exactly which traffic changes verdict, per firewall, OS, scope, protocol and family, as
      address and port ranges. With --exit-code: exit 1 when something changed.
  ${USAGE.test}
      Checks each flow of FLOWS.yaml against its expected verdict; exit 1 on a failure.

Example:
  npx cdk8s-hostnet explain dist --node-os linux --scope podForward --proto udp \\
    --src 172.20.0.5 --dst 172.21.0.10 --dport 53

Exit codes: 0 fine, 1 changed (diff --exit-code) or failed (test), 2 a usage or input error.`;

/** Flags of one command: name to whether it takes a value. */
export type FlagSpec = Record<string, 'value' | 'boolean'>;

export interface ParsedArgs {
  readonly positional: string[];
  readonly flags: Map<string, string | true>;
}

/**
 * `--flag value`, `--flag=value` and boolean `--flag`; `--` ends the flags. An unknown flag, a
 * missing value, or a flag given twice is a UsageError naming the flag (and its value).
 */
export function parseFlags(command: string, args: string[], spec: FlagSpec): ParsedArgs {
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--') {
      positional.push(...args.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = (eq < 0 ? arg : arg.slice(0, eq)).replace(/^--?/, '');
    const inline = eq < 0 ? undefined : arg.slice(eq + 1);
    const kind = spec[name];
    if (!kind) {
      throw new UsageError(`${command}: unknown flag ${eq < 0 ? arg : `${arg.slice(0, eq)} (value ${JSON.stringify(inline)})`}`, true);
    }
    if (flags.has(name)) throw new UsageError(`${command}: flag --${name} is given twice`, true);
    if (kind === 'boolean') {
      if (inline !== undefined) throw new UsageError(`${command}: flag --${name} takes no value, got ${JSON.stringify(inline)}`, true);
      flags.set(name, true);
      continue;
    }
    const value = inline ?? args[++i];
    if (value === undefined || (inline === undefined && value.startsWith('--'))) {
      throw new UsageError(`${command}: flag --${name} needs a value`, true);
    }
    flags.set(name, value);
  }
  return { positional, flags };
}
