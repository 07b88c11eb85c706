/**
 * Formats a synth-time error that names where (construct path and rule), what (field) and the
 * value given, as users need to find the line to fix.
 */
export function ruleError(path: string, ruleId: string, field: string, value: unknown, problem: string): Error {
  return new Error(`${path}: rule '${ruleId}': ${field} ${JSON.stringify(value)} ${problem}`);
}
