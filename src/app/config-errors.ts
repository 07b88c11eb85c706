// How CLUSTER_CONFIG errors show what the user wrote: one line, short, printable, whatever the input.

/** Longest value shown in full; longer ones are cut and their length is given. */
const MAX_VALUE_CHARS = 60;
/** Longest field name shown in full in a path. */
const MAX_KEY_CHARS = 40;
// Characters that would break the one-line message or rewrite the terminal: controls, invisible and
// bidirectional marks, line and paragraph separators (JSON escapes only C0, and String() none).
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]/g;

/** `1,234,567`: sizes in messages. */
export function count(n: number): string {
  return n.toLocaleString('en-US');
}

/**
 * The value as JSON, cut to about 60 characters with its full length given:
 * `"10.0.0.0/8, 10.1…" (100,012 chars)`. Never throws (circular data, BigInt, NaN).
 */
export function shortValue(value: unknown, max: number = MAX_VALUE_CHARS): string {
  const text = escapeUnprintable(json(value));
  if (text.length <= max) return text;
  // a cut string keeps its closing quote, so that `"abc…"` still reads as text
  return `${cut(text, max - 1)}…${text.startsWith('"') ? '"' : ''} (${count(text.length)} chars)`;
}

/** Text as it is, its unprintable characters escaped, cut to `max` characters with an ellipsis. */
export function shortText(text: string, max: number): string {
  const escaped = escapeUnprintable(text.replace(/[\u0000-\u001f]/g, (c) => JSON.stringify(c).slice(1, -1)));
  return escaped.length <= max ? escaped : `${cut(escaped, max - 1)}…`;
}

/** `exemptions[0].destinationPorts`, or `exemptions[0]["odd key"]` for keys that are not names. */
export function fieldPath(parent: string, key: string): string {
  if (/^[A-Za-z_$][\w$-]*$/.test(key) && key.length <= MAX_KEY_CHARS) return parent ? `${parent}.${key}` : key;
  const quoted = escapeUnprintable(JSON.stringify(key));
  return `${parent}[${quoted.length <= MAX_KEY_CHARS ? quoted : `${cut(quoted, MAX_KEY_CHARS - 2)}…"`}]`;
}

/** A file name as given, quoted only when it holds characters that would break the line. */
export function displayFile(file: string): string {
  return /^[\x20-\x7e]*$/.test(file) ? file : shortValue(file, 200);
}

/**
 * The known name the user most likely meant: at most a few edits away (Levenshtein, ignoring case),
 * or a name that starts with what was written (`reapplyInterval`).
 */
export function closestName(name: string, known: readonly string[]): string | undefined {
  if (name.length > 64) return undefined;
  const lower = name.toLowerCase();
  let best: { name: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(lower, candidate.toLowerCase());
    if (!best || distance < best.distance) best = { name: candidate, distance };
  }
  if (best && best.distance <= Math.max(1, Math.floor(best.name.length / 4))) return best.name;
  return lower.length >= 4 ? known.find((k) => k.toLowerCase().startsWith(lower)) : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}

function json(value: unknown): string {
  if (value === undefined) return 'undefined';
  // as YAML writes them (JSON would say null)
  if (typeof value === 'number' && !Number.isFinite(value)) return Number.isNaN(value) ? '.nan' : value > 0 ? '.inf' : '-.inf';
  if (typeof value === 'bigint') return String(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return Array.isArray(value) ? '[…circular…]' : '{…circular…}';
  }
}

function escapeUnprintable(text: string): string {
  return text.replace(UNPRINTABLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** The first `length` characters, never half of a surrogate pair. */
function cut(text: string, length: number): string {
  const head = text.slice(0, length);
  return /[\ud800-\udbff]$/.test(head) ? head.slice(0, -1) : head;
}
