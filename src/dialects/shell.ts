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

/**
 * An unquoted heredoc in which the shell expands only the given variables: the body may hold no
 * other `$`, no backquote and no backslash (bodies are addresses and ports, checked at compile time).
 */
export function expandingHeredoc(delimiter: string, lines: string[], variables: string[]): string {
  for (const line of lines) {
    let rest = line;
    for (const v of variables) rest = rest.split(v).join('');
    if (/[$`\\]/.test(rest)) throw new Error(`internal: heredoc line would expand: ${line.slice(0, 80)}`);
  }
  return heredoc(delimiter, lines).replace(`<<'${delimiter}'`, `<<${delimiter}`);
}

/**
 * An unquoted heredoc whose body is `lines` taken literally (each `\`, `$` and backquote escaped, the
 * only characters a backslash escapes there) with shell text spliced in where `parts` says: the
 * command reads the static text and the shell's values in one stream, without a `cat` to join them.
 * `rest` ends the command's line (` &`, ` || x=false`): in sh it goes there, not after the body.
 */
export function splicingHeredoc(delimiter: string, parts: Array<{ readonly literal: string[] } | { readonly shell: string }>, rest = ''): string {
  const body = parts.flatMap((p) => ('literal' in p ? p.literal.map((l) => l.replace(/[\\$`]/g, (c) => `\\${c}`)) : [p.shell]));
  if (body.some((l) => l === delimiter)) throw new Error(`internal: heredoc body contains its delimiter ${delimiter}`);
  return [`<<${delimiter}${rest}`, ...body, delimiter].join('\n');
}
