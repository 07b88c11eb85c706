/** Quotes a value for POSIX sh: single quotes, with embedded single quotes closed and escaped. */
export function shQuote(value: string): string {
  return `'${value.replace(/'/g, '\'\\\'\'')}'`;
}

/** A quoted heredoc whose body the shell never expands; refuses bodies that would end it early. */
export function heredoc(delimiter: string, lines: string[]): string {
  if (lines.some((l) => l === delimiter)) throw new Error(`internal: heredoc body contains its delimiter ${delimiter}`);
  return [`<<'${delimiter}'`, ...lines, delimiter].join('\n');
}

/** `# text` lines; the text is one printable line (checked when the policy compiles). */
export function comment(text: string): string {
  return `# ${text}`;
}
