// Rule sets read back from a namespace-node, in a form two reads can be compared in.

/**
 * iptables-save without counters and comments, for comparing rule sets. A table holding only empty
 * built-in chains with ACCEPT policies filters nothing: it counts as absent (the first ip6tables
 * call creates one).
 */
export function normaliseSave(save: string): string {
  const lines = save.split('\n').filter((l) => l !== '' && !l.startsWith('#')).map((l) => l.replace(/\[\d+:\d+\]/g, '[0:0]'));
  const tables: string[][] = [];
  for (const line of lines) {
    if (line.startsWith('*')) tables.push([]);
    tables[tables.length - 1]?.push(line);
  }
  const empty = (t: string[]) => t.every((l) => l.startsWith('*') || l === 'COMMIT' || /^:[A-Z]+ ACCEPT \[0:0\]$/.test(l))
    && !t.some((l) => l.startsWith('-A'));
  return tables.filter((t) => !empty(t)).map((t) => t.join('\n')).join('\n');
}
