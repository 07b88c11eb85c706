/** Where a command writes: process streams in the bin, buffers in tests. */
export interface Output {
  out(text: string): void;
  err(text: string): void;
}

/** `ALLOW (rule x)`, `DENY (default)`, `ALLOW`: the verdict and what decided it. */
export function verdictLine(v: { verdict: string; ruleId?: string; isDefault: boolean }): string {
  const by = v.ruleId !== undefined ? ` (rule ${v.ruleId})` : v.isDefault ? ' (default)' : '';
  return `${v.verdict}${by}`;
}
