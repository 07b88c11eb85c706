/**
 * A port or an inclusive port range. Values are checked when the policy compiles, so the error
 * can name the construct path and field.
 */
export class PortRange {
  /** A single port. */
  public static of(port: number): PortRange {
    return new PortRange(port, port);
  }

  /** An inclusive range `from-to`. */
  public static range(from: number, to: number): PortRange {
    return new PortRange(from, to);
  }

  /**
   * Parses `53` or `1000-2000` (the override file's notation).
   * @returns undefined when the text is neither
   */
  public static parse(text: string): PortRange | undefined {
    const match = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(String(text));
    if (!match) return undefined;
    return new PortRange(Number(match[1]), Number(match[2] ?? match[1]));
  }

  private constructor(
    /** The first port. */
    public readonly from: number,
    /** The last port (the same as `from` for a single port). */
    public readonly to: number,
  ) {}

  /** `53` or `1000-2000`. */
  public toString(): string {
    return this.from === this.to ? `${this.from}` : `${this.from}-${this.to}`;
  }
}

/** Problem with a port range, or undefined when it is a valid range within 1-65535. */
export function portRangeProblem(range: PortRange): string | undefined {
  const valid = (p: number) => Number.isInteger(p) && p >= 1 && p <= 65535;
  if (!valid(range.from) || !valid(range.to)) return 'must be within 1-65535';
  if (range.from > range.to) return 'has its start above its end';
  return undefined;
}

/** Whether two ranges share a port. */
export function rangesOverlap(a: PortRange, b: PortRange): boolean {
  return a.from <= b.to && b.from <= a.to;
}
