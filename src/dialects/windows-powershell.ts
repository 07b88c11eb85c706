/**
 * PowerShell literals for generated scripts. Every value from a policy goes into a single-quoted
 * string, where PowerShell expands nothing ($, `, " and ; are plain characters) and the only
 * special character is the quote itself, written twice. PowerShell also takes the typographic
 * quotes U+2018-U+201B as single quotes, so they are doubled too.
 * @see https://learn.microsoft.com/powershell/module/microsoft.powershell.core/about/about_quoting_rules
 */
export function psQuote(value: string): string {
  return `'${value.replace(/['\u2018\u2019\u201a\u201b]/g, (q) => q + q)}'`;
}

/** `@('a', 'b')`, or one item a line (indented by `indent`) when the list is long. */
export function psArray(values: readonly string[], indent: string, perLine = 4): string {
  const items = values.map(psQuote);
  if (items.length <= perLine) return `@(${items.join(', ')})`;
  return ['@(', ...items.map((item) => `${indent}  ${item}`), `${indent})`].join('\n');
}

/**
 * A `# text` comment line. The text must be one printable ASCII line: a line break would end the
 * comment and let the rest run as code.
 */
export function psComment(text: string, indent = ''): string {
  if (!/^[\x20-\x7e]*$/.test(text)) throw new Error(`internal: comment ${JSON.stringify(text)} is not one printable ASCII line`);
  return `${indent}# ${text}`.trimEnd();
}
