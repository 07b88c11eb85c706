/**
 * The agents' drop log: one line per dropped (or, in audit mode, would-drop) packet on the agent's
 * stdout, so `kubectl logs` shows it, rate-limited by the agent. The same line on Linux and Windows,
 * so one log query serves both:
 *
 *   hostnet drop rule=<id> action=<drop|would_drop> proto=<p> src=<ip>:<port> dst=<ip>:<port> dir=<ingress|egress|forward>
 *
 * An IPv6 address is written in brackets (`[2001:db8::1]:53`); a packet without ports (ICMP) has port 0.
 */
export interface DropLogEntry {
  /** The policy rule id (`default-deny-udp`, or a deny rule's id). */
  readonly rule: string;
  /** `drop`, or `would_drop` in audit mode. */
  readonly action: 'drop' | 'would_drop';
  /** Lowercase: `udp`, `tcp`, `icmp`, ... */
  readonly protocol: string;
  readonly source: string;
  readonly sourcePort: number;
  readonly destination: string;
  readonly destinationPort: number;
  readonly direction: 'ingress' | 'egress' | 'forward';
}

/** The fields of a drop log line, in order: `name=` and the entry's value. */
const FIELDS = ['rule', 'action', 'proto', 'src', 'dst', 'dir'] as const;

/** `ip:port`, with an IPv6 address in brackets. */
export function endpoint(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/** The same line as an awk/C printf format: the rule, action, protocol, both endpoints and the direction. */
export const DROP_LOG_PRINTF = `hostnet drop ${FIELDS.map((name) => `${name}=%s`).join(' ')}`;

/** One drop log line (no newline). */
export function formatDropLog(e: DropLogEntry): string {
  const values = [e.rule, e.action, e.protocol, endpoint(e.source, e.sourcePort), endpoint(e.destination, e.destinationPort), e.direction];
  return `hostnet drop ${FIELDS.map((name, i) => `${name}=${values[i]}`).join(' ')}`;
}

/**
 * The same line as a .NET format string for PowerShell's `-f` operator: arguments 0-5 are the rule,
 * action, protocol, source endpoint, destination endpoint and direction.
 */
export const DROP_LOG_PS_FORMAT = `hostnet drop ${FIELDS.map((name, i) => `${name}={${i}}`).join(' ')}`;
