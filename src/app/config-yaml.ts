import { closeSync, fstatSync, openSync, readSync } from 'fs';
import { Document, Lexer, Node, isAlias, isMap, isPair, isScalar, isSeq, parseAllDocuments } from 'yaml';
import { count, displayFile, shortText, shortValue } from './config-errors';

/** Larger override files are refused before they are read: parsing 8 MiB of YAML takes seconds. */
export const MAX_CONFIG_BYTES = 8 * 1024 * 1024;
/** Deeper nesting is refused before the YAML parser, whose recursion it would exhaust. */
const MAX_DEPTH = 64;
/** Aliases and anchors are refused beyond these: each alias is resolved by a scan of the anchors. */
const MAX_ALIASES = 1000;
const MAX_ANCHORS = 1000;
/** Values that aliases may add to the document (a 6,000-entry anchor used 60 times adds 360,000). */
const MAX_ALIASED_VALUES = 100_000;

/**
 * Reads the one YAML document of an override file as plain data: text, numbers, true/false, null,
 * lists and mappings with text keys (undefined for an empty file). Refuses, as `file:LINE:COL: is
 * not valid YAML: <reason>`, syntax errors, repeated keys, tags, aliases that loop or repeat too
 * much, nesting deeper than 64 levels and a second document; and files that are missing, not
 * UTF-8 or over 8 MiB.
 */
export function readConfigYaml(file: string): unknown {
  const where = displayFile(file);
  const text = decode(where, readLimited(file, where));
  checkNesting(where, text);
  // uniqueKeys off: the library compares every key with every other (40,000 keys: 15 s); checkDocument uses a Set.
  // prettyErrors off: its messages quote the source over several lines; yamlError gives line:column instead.
  const docs = parseAllDocuments(text, { schema: 'core', stringKeys: true, uniqueKeys: false, resolveKnownTags: false, prettyErrors: false });
  for (const doc of docs) {
    const problem = [...doc.errors, ...doc.warnings][0];
    if (problem) throw yamlError(where, text, problem.pos[0], yamlReason(problem.code, problem.message, text.slice(problem.pos[0], problem.pos[1])));
  }
  const filled = docs.filter((doc) => !(doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)));
  if (filled.length > 1) {
    throw yamlError(where, text, filled[1].contents!.range![0], 'a second document starts here; put all overrides in one document');
  }
  if (filled.length === 0) return undefined;
  const firstAlias = checkDocument(where, text, filled[0]);
  try {
    return filled[0].toJS({ maxAliasCount: MAX_ALIASED_VALUES });
  } catch (error) {
    // the library's alias-bomb guard, a second line of defence: it counts uses of an anchor times the uses of the
    // anchors inside it, so it rarely refuses what checkDocument (which knows the line:column) let through
    throw yamlError(where, text, firstAlias ?? 0, `aliases repeat values too often (${shortText((error as Error).message.toLowerCase(), 80)})`);
  }
}

/** Reads at most MAX_CONFIG_BYTES + 1 bytes, so that a huge file or a device is refused without reading it all. */
function readLimited(file: string, where: string): Buffer {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new Error(`CLUSTER_CONFIG names ${where}, which does not exist`);
    if (code === 'EISDIR') throw new Error(`CLUSTER_CONFIG names ${where}, which is a directory; name a YAML file`);
    throw new Error(`CLUSTER_CONFIG names ${where}, which cannot be read (${code === 'EACCES' ? 'permission denied' : code ?? 'unknown error'})`);
  }
  try {
    const stat = fstatSync(fd);
    if (stat.isDirectory()) throw new Error(`CLUSTER_CONFIG names ${where}, which is a directory; name a YAML file`);
    const limit = `the limit is 8 MiB (${count(MAX_CONFIG_BYTES)} bytes)`;
    if (stat.isFile() && stat.size > MAX_CONFIG_BYTES) throw new Error(`CLUSTER_CONFIG names ${where}, which is ${count(stat.size)} bytes; ${limit}`);
    const buffer = Buffer.allocUnsafe(MAX_CONFIG_BYTES + 1);
    let length = 0;
    for (let n = -1; n !== 0 && length < buffer.length; length += n) n = readSync(fd, buffer, length, buffer.length - length, null);
    if (length > MAX_CONFIG_BYTES) throw new Error(`CLUSTER_CONFIG names ${where}, which is more than ${count(MAX_CONFIG_BYTES)} bytes; ${limit}`);
    return buffer.subarray(0, length);
  } finally {
    closeSync(fd);
  }
}

function decode(where: string, bytes: Buffer): string {
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
    throw new Error(`${where}:1:1: is not valid YAML: the file is UTF-16 text; save it as UTF-8`);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    const text = bytes.toString('utf8');
    throw yamlError(where, text, text.indexOf('\ufffd'), 'the file is not UTF-8 text');
  }
}

/**
 * Refuses nesting deeper than MAX_DEPTH from the lexer's tokens, before the parser recurses into it
 * (100,000 levels crash node; 4,000,000 take minutes). Flow brackets plus the open indentation
 * columns, where each `-` and `?` opens one at its column. Block lists in mappings need no indentation
 * of their own, so this may count half the depth; checkDocument counts exactly once parsing is safe.
 */
function checkNesting(where: string, text: string): void {
  const columns: number[] = [];
  let flow = 0;
  let offset = 0;
  let column = 0;
  let lineStart = true;
  const open = (at: number) => {
    while (columns.length > 0 && columns[columns.length - 1] >= at) columns.pop();
    columns.push(at);
  };
  for (const token of new Lexer().lex(text)) {
    if (/^[\x02\x18\x1f]$/.test(token)) continue; // markers the lexer adds, not source text
    const blank = /^[ \t]+$/.test(token);
    if (lineStart && !blank && !token.startsWith('#') && !token.includes('\n') && flow === 0) open(column);
    if (flow === 0 && (token === '-' || token === '?')) open(column);
    if (token === '[' || token === '{') flow++;
    if ((token === ']' || token === '}') && flow > 0) flow--;
    if (columns.length + flow > MAX_DEPTH) throw yamlError(where, text, offset, `nests deeper than ${MAX_DEPTH} levels`);
    offset += token.length;
    const newline = token.lastIndexOf('\n');
    column = newline < 0 ? column + token.length : token.length - newline - 1;
    if (newline >= 0) lineStart = true;
    else if (!blank) lineStart = false;
  }
}

/**
 * Walks the composed document once, in document order: keys must be unique, aliases must name an
 * earlier anchor outside themselves, and anchors, aliases and the values aliases add are limited.
 * Returns the offset of the first alias.
 */
function checkDocument(where: string, text: string, doc: Document): number | undefined {
  const anchors = new Map<string, Node>();
  const sizes = new Map<Node, number>();
  const path: unknown[] = [];
  let aliases = 0;
  let added = 0;
  let firstAlias: number | undefined;
  const fail = (node: { range?: [number, number, number] | null }, reason: string) => yamlError(where, text, node.range?.[0] ?? 0, reason);
  const walk = (node: unknown): number => {
    if (node === null || node === undefined) return 0;
    if (isPair(node)) return walk(node.key) + walk(node.value);
    const n = node as Node;
    if (path.length >= MAX_DEPTH) throw fail(n, `nests deeper than ${MAX_DEPTH} levels`);
    if (isAlias(n)) {
      firstAlias ??= n.range?.[0];
      const target = anchors.get(n.source);
      const name = shortText(n.source, 40);
      if (++aliases > MAX_ALIASES) throw fail(n, `uses more than ${count(MAX_ALIASES)} aliases`);
      if (!target) throw fail(n, `alias *${name} has no anchor &${name} before it`);
      if (path.includes(target)) throw fail(n, `alias *${name} is inside its own anchor &${name}, so its value never ends`);
      const size = sizes.get(target)!;
      added += size;
      if (added > MAX_ALIASED_VALUES) throw fail(n, `aliases repeat more than ${count(MAX_ALIASED_VALUES)} values; repeat fewer or smaller anchors`);
      return size;
    }
    if (n.anchor) {
      anchors.set(n.anchor, n);
      if (anchors.size > MAX_ANCHORS) throw fail(n, `defines more than ${count(MAX_ANCHORS)} anchors`);
    }
    path.push(n);
    let size = 1;
    if (isMap(n)) {
      const keys = new Set<unknown>();
      for (const pair of n.items) {
        const key = isScalar(pair.key) ? pair.key.value : pair.key;
        if (keys.has(key)) throw fail(pair.key as Node, `key ${shortValue(key, 40)} appears twice in one mapping`);
        keys.add(key);
        size += walk(pair);
      }
    } else if (isSeq(n)) {
      for (const item of n.items) size += walk(item);
    }
    path.pop();
    if (n.anchor) sizes.set(n, size);
    return size;
  };
  walk(doc.contents);
  return firstAlias;
}

/** The library's message, lowercase and short, or our own words where its words are about its API. */
function yamlReason(code: string, message: string, source: string): string {
  if (code === 'TAG_RESOLVE_FAILED') return `tag ${shortText(source, 40)} is not supported; write plain text, numbers, true/false, lists and mappings`;
  if (code === 'NON_STRING_KEY') return 'keys must be text, not lists, mappings or aliases';
  const reason = message.replace(/\.$/, '');
  return shortText(reason.charAt(0).toLowerCase() + reason.slice(1), 120);
}

/** `file:LINE:COL: is not valid YAML: reason`, LINE and COL counted from 1 as editors do. */
function yamlError(where: string, text: string, offset: number, reason: string): Error {
  const before = text.slice(0, Math.max(0, offset));
  const line = before.split('\n').length;
  const column = before.length - before.lastIndexOf('\n');
  return new Error(`${where}:${line}:${column}: is not valid YAML: ${reason}`);
}
