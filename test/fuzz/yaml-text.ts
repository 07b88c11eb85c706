// Writes generated values as YAML text, the way people and tools write CLUSTER_CONFIG files:
// block or flow collections, plain or quoted scalars, anchors and aliases, and verbatim snippets
// (tags, `.nan`, `*alias`) that no serializer would produce. The fuzzer feeds the text, not the
// values, to the loader: what the parser makes of it is part of what is tested.

/** Verbatim YAML, emitted as it is (one line: usable in flow and block positions alike). */
export class Raw {
  public constructor(public readonly text: string) {}
}

/** `&name value`: the value with an anchor; `new Raw('*name')` refers to it. */
export class Anchored {
  public constructor(public readonly name: string, public readonly value: YamlValue) {}
}

/** A mapping as ordered pairs: keys may repeat and may be verbatim YAML (`? [a]`, `1`, `<<`). */
export class Pairs {
  public constructor(public readonly pairs: ReadonlyArray<readonly [string | Raw, YamlValue]>) {}
}

export type YamlValue = null | boolean | number | string | Raw | Anchored | Pairs | YamlValue[] | { [key: string]: YamlValue };

/** How scalars are quoted: plain where YAML allows it (so `53` is a number, `yes` a string), or always quoted. */
export type Quoting = 'plain' | 'single' | 'double';

export interface YamlStyle {
  /** Collections in flow style (`[a, b]`, `{k: v}`) below this depth; block style above it. */
  readonly flowBelowDepth: number;
  readonly quoting: Quoting;
  /** Escape every character outside printable ASCII in double-quoted scalars. */
  readonly asciiOnly: boolean;
  readonly indent: number;
}

export const DEFAULT_STYLE: YamlStyle = { flowBelowDepth: 1, quoting: 'plain', asciiOnly: false, indent: 2 };

/** The text of one document holding `value` (a mapping at the top, normally). */
export function toYamlText(value: YamlValue, style: YamlStyle = DEFAULT_STYLE): string {
  return new Emitter(style).document(value);
}

/** Scalars YAML reads back as the same string, in and out of flow collections. */
const PLAIN = /^[A-Za-z0-9_][A-Za-z0-9._/:@+-]*$/;
/** Keys written without quotes, unless YAML reads them as null or a boolean. */
const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const KEYWORD = /^(null|Null|NULL|true|True|TRUE|false|False|FALSE)$/;

class Emitter {
  public constructor(private readonly style: YamlStyle) {}

  public document(value: YamlValue): string {
    if (isCollection(value) && !isEmpty(value) && this.style.flowBelowDepth > 0) return this.block(value, 0) + '\n';
    return this.flow(value) + '\n';
  }

  /** A collection in block style, starting at the current line (the caller wrote the key or the dash). */
  private block(value: YamlValue, indent: number): string {
    const pad = ' '.repeat(indent);
    if (value instanceof Anchored) {
      // `&a` then the collection on the next lines
      return `&${value.name}\n${pad}${this.block(value.value, indent)}`;
    }
    if (Array.isArray(value)) {
      return value.map((item) => `- ${this.nested(item, indent + 2, true)}`).join(`\n${pad}`);
    }
    return entries(value).map(([key, item]) => `${this.key(key)}:${this.afterKey(item, indent)}`).join(`\n${pad}`);
  }

  /** What follows `key:`: a space and an inline value, or a nested block collection. */
  private afterKey(value: YamlValue, indent: number): string {
    if (this.inlined(value, indent + this.style.indent)) return ` ${this.flow(value)}`;
    const inner = indent + this.style.indent;
    const anchor = value instanceof Anchored ? ` &${value.name}` : '';
    const body = value instanceof Anchored ? value.value : value;
    // a block list under a key may sit at the key's own indentation; indent it for readability
    return `${anchor}\n${' '.repeat(inner)}${this.block(body, inner)}`;
  }

  /** An item after `- `: inline, or a block collection continuing on this line. */
  private nested(value: YamlValue, indent: number, afterDash: boolean): string {
    if (this.inlined(value, indent)) return this.flow(value);
    if (value instanceof Anchored) return `&${value.name}\n${' '.repeat(indent)}${this.block(value.value, indent)}`;
    void afterDash;
    return this.block(value, indent);
  }

  private inlined(value: YamlValue, indent: number): boolean {
    const body = value instanceof Anchored ? value.value : value;
    return !isCollection(body) || isEmpty(body) || indent >= this.style.flowBelowDepth * this.style.indent;
  }

  private flow(value: YamlValue): string {
    if (value instanceof Raw) return value.text;
    if (value instanceof Anchored) return `&${value.name} ${this.flow(value.value)}`;
    if (Array.isArray(value)) return `[${value.map((item) => this.flow(item)).join(', ')}]`;
    if (value !== null && typeof value === 'object') {
      return `{${entries(value).map(([key, item]) => `${this.key(key)}: ${this.flow(item)}`).join(', ')}}`;
    }
    return this.scalar(value);
  }

  private key(key: string | Raw): string {
    if (key instanceof Raw) return key.text;
    return PLAIN_KEY.test(key) && !KEYWORD.test(key) ? key : this.doubleQuoted(key);
  }

  private scalar(value: null | boolean | number | string): string {
    if (value === null) return 'null';
    if (typeof value === 'boolean') return String(value);
    if (typeof value === 'number') {
      if (Number.isNaN(value)) return '.nan';
      if (!Number.isFinite(value)) return value > 0 ? '.inf' : '-.inf';
      return Object.is(value, -0) ? '-0' : String(value);
    }
    if (this.style.quoting === 'plain' && PLAIN.test(value)) return value;
    // single quotes fold line breaks and cannot hold control characters: those need double quotes
    if (this.style.quoting === 'single' && /^[\x20-\x7e]*$/.test(value)) return `'${value.replace(/'/g, '\'\'')}'`;
    return this.doubleQuoted(value);
  }

  private doubleQuoted(text: string): string {
    let out = '"';
    for (const ch of text) out += this.escaped(ch);
    return `${out}"`;
  }

  private escaped(ch: string): string {
    const code = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') return `\\${ch}`;
    if (code >= 0x20 && code <= 0x7e) return ch;
    if (ch === '\n') return '\\n';
    if (ch === '\t') return '\\t';
    // YAML streams hold no C0/C1 controls, DEL, lone surrogates or U+FFFE/U+FFFF: escape them
    if (this.style.asciiOnly || code < 0xa0 || (code >= 0xd800 && code <= 0xdfff) || code === 0xfffe || code === 0xffff) {
      return code > 0xffff ? `\\U${code.toString(16).padStart(8, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
    }
    return ch;
  }
}

function entries(value: YamlValue): Array<readonly [string | Raw, YamlValue]> {
  if (value instanceof Pairs) return [...value.pairs];
  return Object.entries(value as Record<string, YamlValue>);
}

function isCollection(value: YamlValue): boolean {
  const body = value instanceof Anchored ? value.value : value;
  return Array.isArray(body) || body instanceof Pairs || (body !== null && typeof body === 'object' && !(body instanceof Raw));
}

function isEmpty(value: YamlValue): boolean {
  const body = value instanceof Anchored ? value.value : value;
  if (Array.isArray(body)) return body.length === 0;
  if (body instanceof Pairs) return body.pairs.length === 0;
  return body !== null && typeof body === 'object' && !(body instanceof Raw) && Object.keys(body).length === 0;
}
