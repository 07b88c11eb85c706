// What every CLUSTER_CONFIG must end in, checked per case: either (a) a clean error, one short line
// that starts with the file's path, or (b) manifests valid for Kubernetes 1.28 whose scripts pass
// shellcheck (POSIX sh) and parse as PowerShell. Failures are grouped into classes so that one run
// reports every kind of failure at once, each with its smallest input.
import { spawn } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { types } from 'util';
import { Testing } from 'cdk8s';
import { FuzzCase } from './config-arbitraries';
import { buildApp } from '../../src/app/build-app';
import { ClusterConfig, loadClusterConfig } from '../../src/app/cluster-config';
import { ClusterProfiles } from '../../src/profiles/cluster-profiles';
import { validateManifest } from '../util/k8s-schema';
import { parsePowerShell, parseProblems } from '../windows/powershell-parser';

/** Longest clean error message, in characters. */
export const MAX_MESSAGE_CHARS = 400;
/** Words of JavaScript's own errors: a message with them leaked an internal failure to the user. */
export const INTERNAL_PHRASES = ['is not a function', 'Cannot read prop', 'undefined', 'Maximum call stack', 'circular structure', '[object Object]', 'NaN'];

export interface Scripts {
  readonly [file: string]: string;
}

export type Outcome =
  | { readonly kind: 'error'; readonly message: string }
  | {
    readonly kind: 'output';
    readonly config: ClusterConfig;
    readonly objects: number;
    /** Errors of objects that are not valid Kubernetes 1.28 (strict: unknown fields are errors). */
    readonly schemaErrors: string[];
    /** `<name>-linux-scripts` data, when the config deploys to Linux nodes. */
    readonly linux?: Scripts;
    readonly windows?: Scripts;
  };

/** One way a case failed the oracle; `signature` groups failures of one cause. */
export interface Problem {
  readonly signature: string;
  readonly detail: string;
}

/** Loads a case's file and synthesizes every chart, as src/main.ts does; an exception is outcome (a). */
export function synthCase(file: string, profile: string): Outcome {
  let config: ClusterConfig;
  let objects: any[];
  try {
    config = loadClusterConfig(file, ClusterProfiles.byName(profile));
    const app = Testing.app();
    buildApp(app, config);
    objects = app.charts.flatMap((chart) => Testing.synth(chart));
  } catch (error) {
    if (types.isNativeError(error)) return { kind: 'error', message: error.message };
    // not an Error: make every check of the message fail
    return { kind: 'error', message: `\n(a thrown ${typeof error}, not an Error: ${String(error).slice(0, 200)})` };
  }
  const schemaErrors = objects.flatMap((obj) => validateManifest(obj).map((e) => `${obj?.kind}/${obj?.metadata?.name}: ${e}`));
  const name = config.name ?? 'hostnet';
  const scripts = (os: string) => objects.find((o) => o.kind === 'ConfigMap' && o.metadata?.name === `${name}-${os}-scripts`)?.data as Scripts | undefined;
  return { kind: 'output', config, objects: objects.length, schemaErrors, linux: scripts('linux'), windows: scripts('windows') };
}

/** A case's outcome and every problem with it that needs no script checker (message, schema, ConfigMaps, time). */
export function judgeCase(c: FuzzCase, file: string, slowMs: number): { outcome: Outcome; ms: number; problems: Problem[] } {
  fs.writeFileSync(file, c.content);
  const input = typeof c.content === 'string' ? c.content : Buffer.from(c.content).toString('utf8');
  const t0 = Date.now();
  const outcome = synthCase(file, c.profile);
  const ms = Date.now() - t0;
  const problems = outcome.kind === 'error'
    ? errorProblems(outcome.message, file, input)
    : [...schemaProblems(outcome.schemaErrors), ...outputProblems(outcome)];
  if (ms > slowMs) problems.push({ signature: `slow: over ${slowMs / 1000} s (${c.kind})`, detail: `${ms} ms` });
  return { outcome, ms, problems };
}

/** Problems with an error message, judged against the file's path and the input's own text. */
export function errorProblems(message: string, file: string, input: string): Problem[] {
  const problems: Problem[] = [];
  const template = messageTemplate(message, file);
  const add = (rule: string) => problems.push({ signature: `error ${rule}: ${template}`, detail: message });
  if (!message.startsWith(file)) add('does not start with the file path');
  if (/[\n\r\u2028\u2029]/.test(message)) add('is more than one line');
  else if (/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/.test(message)) add('holds a control character'); // eslint-disable-line no-control-regex
  if (message.length > MAX_MESSAGE_CHARS) add(`is longer than ${MAX_MESSAGE_CHARS} characters (${message.length})`);
  for (const phrase of INTERNAL_PHRASES) {
    // the user's own words may come back quoted; only phrases the input does not hold are ours
    if (message.includes(phrase) && !input.includes(phrase)) add(`says "${phrase}"`);
  }
  return problems;
}

/** Problems of an output beyond the schema: the agents' script ConfigMaps are there, whole. */
export function outputProblems(outcome: Extract<Outcome, { kind: 'output' }>): Problem[] {
  const problems: Problem[] = [];
  const nodeOs = outcome.config.profile.nodeOs;
  const want: Array<[string, Scripts | undefined, string[]]> = [
    ['linux', outcome.linux, ['apply.sh', 'remove.sh', 'run.sh']],
    ['windows', outcome.windows, ['apply.ps1', 'remove.ps1', 'run.ps1']],
  ];
  for (const [os, scripts, files] of want) {
    if (!nodeOs.includes(os as never)) continue;
    if (!scripts) {
      problems.push({ signature: `output: no ${os} scripts ConfigMap`, detail: `nodeOs ${JSON.stringify(nodeOs)} but no <name>-${os}-scripts` });
      continue;
    }
    for (const f of files) {
      if (typeof scripts[f] !== 'string' || scripts[f] === '') problems.push({ signature: `output: ${os} ConfigMap has no ${f}`, detail: Object.keys(scripts).join(', ') });
    }
  }
  return problems;
}

/** Schema errors as problems, one class per kind of error (indices and values left out). */
export function schemaProblems(errors: string[]): Problem[] {
  return errors.map((e) => ({ signature: `schema: ${e.replace(/\[\d+\]/g, '[N]').replace(/"[^"]*"/g, '"…"').replace(/\/[^:]*:/, '/…:').slice(0, 160)}`, detail: e }));
}

/**
 * The message with the file path, quoted values, parenthesized remarks (which quote user text) and
 * numbers replaced, cut after its first words: one template per cause.
 */
export function messageTemplate(message: string, file: string): string {
  let template = message.split(file).join('FILE')
    .replace(/"(?:[^"\\]|\\.)*"(?: \([\d,]+ chars\))?/g, '"…"')
    .replace(/'[^']*'/g, '\'…\'')
    .replace(/\d+/g, 'N')
    .replace(/[\n\r]/g, '⏎');
  for (let before = ''; before !== template;) {
    before = template;
    template = template.replace(/\([^()]*\)/g, '(…)');
  }
  return template.slice(0, 120);
}

// ---------------------------------------------------------------------------------------------
// Scripts: shellcheck runs as child processes, several at once, each distinct script once.

export class ScriptChecks {
  private readonly shell = new Map<string, Promise<string[]>>();
  private readonly powershell = new Map<string, Promise<string[]>>();
  /** Seconds each shellcheck took, with the script's size: where the time goes. */
  public readonly shellcheckTimes: Array<{ ms: number; bytes: number; name: string }> = [];
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  public constructor(private readonly dir: string, private readonly concurrency: number) {}

  /** shellcheck findings of a script as POSIX sh (as test/util/shellcheck.ts runs it); cached by content. */
  public shellcheck(script: string, name: string): Promise<string[]> {
    const key = `${name}\0${hash(script)}`;
    let result = this.shell.get(key);
    if (!result) {
      result = this.limited(async () => {
        const t0 = Date.now();
        const findings = await shellcheckAsync(script, name, this.dir);
        this.shellcheckTimes.push({ ms: Date.now() - t0, bytes: script.length, name });
        return findings;
      });
      this.shell.set(key, result);
    }
    return result;
  }

  /** tree-sitter ERROR and MISSING nodes of a PowerShell script; cached by content. */
  public powershellProblems(script: string): Promise<string[]> {
    const key = hash(script);
    let result = this.powershell.get(key);
    if (!result) {
      result = parsePowerShell(script).then((tree) => {
        try {
          return parseProblems(tree);
        } finally {
          tree.delete();
        }
      });
      this.powershell.set(key, result);
    }
    return result;
  }

  public get distinctShellScripts(): number {
    return this.shell.size;
  }

  public get distinctPowerShellScripts(): number {
    return this.powershell.size;
  }

  private async limited<T>(task: () => Promise<T>): Promise<T> {
    while (this.running >= this.concurrency) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.running++;
    try {
      return await task();
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }
}

function hash(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

let sequence = 0;

/** `shellcheck -s sh -f gcc`, asynchronously; exit 0 (clean) and 1 (findings) are normal, anything else throws. */
function shellcheckAsync(script: string, name: string, dir: string): Promise<string[]> {
  const file = path.join(dir, `sc-${process.pid}-${++sequence}-${name}`);
  fs.writeFileSync(file, script);
  return new Promise((resolve, reject) => {
    const child = spawn('shellcheck', ['-s', 'sh', '-f', 'gcc', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    child.on('error', (error: NodeJS.ErrnoException) => {
      fs.rmSync(file, { force: true });
      if (error.code === 'ENOENT' && process.env.CI !== 'true') resolve(['shellcheck is not installed (apt-get install shellcheck): generated scripts cannot be checked']);
      else reject(error);
    });
    child.on('close', (code) => {
      fs.rmSync(file, { force: true });
      if (code !== 0 && code !== 1) reject(new Error(`shellcheck failed (exit ${code}): ${stderr.trim()}`));
      else resolve(stdout.split('\n').filter((line) => line.trim() !== '').map((line) => line.split(file).join(name)));
    });
  });
}

/** shellcheck findings as problems: one class per check (SC code) and script. */
export function shellcheckProblems(findings: string[], name: string): Problem[] {
  return findings.map((f) => ({ signature: `shellcheck ${name}: ${/\[(SC\d+)\]/.exec(f)?.[1] ?? f.replace(/:\d+:\d+:/, ':')}`, detail: f }));
}

export function powershellProblemList(problems: string[], name: string): Problem[] {
  return problems.map((p) => ({ signature: `powershell ${name}: ${p.replace(/^\d+:\d+: /, '').slice(0, 20)}`, detail: p }));
}

// ---------------------------------------------------------------------------------------------
// Failure classes

export interface Failure {
  readonly index: number;
  readonly fuzzCase: FuzzCase;
  readonly file: string;
  readonly problem: Problem;
}

/** Failures grouped by signature; each class shows how often it happened and its smallest input. */
export class FailureLog {
  private readonly classes = new Map<string, Failure[]>();
  private readonly minimal = new Map<string, { fuzzCase: FuzzCase; detail: string }>();

  public add(failure: Failure): void {
    const list = this.classes.get(failure.problem.signature) ?? [];
    list.push(failure);
    this.classes.set(failure.problem.signature, list);
  }

  public get size(): number {
    return this.classes.size;
  }

  public signatures(): string[] {
    return [...this.classes.keys()];
  }

  /** The first failure of a class, in case order. */
  public first(signature: string): Failure {
    return this.classes.get(signature)![0];
  }

  /** The failure with the shortest input of each class. */
  public smallest(signature: string): Failure {
    return [...this.classes.get(signature)!].sort((a, b) => size(a.fuzzCase) - size(b.fuzzCase) || a.index - b.index)[0];
  }

  /** A smaller input of the class, found by shrinking. */
  public setMinimal(signature: string, fuzzCase: FuzzCase, detail: string): void {
    this.minimal.set(signature, { fuzzCase, detail });
  }

  public count(signature: string): number {
    return this.classes.get(signature)!.length;
  }

  /** Every class: its signature, count, and smallest input with what happened to it. */
  public report(header: string): string {
    const parts = [...this.classes.keys()].map((signature, i) => {
      const f = this.smallest(signature);
      return [
        `${i + 1}. ${signature}`,
        `   ${this.count(signature)} case(s); smallest: case #${f.index} (${f.fuzzCase.kind}, CLUSTER_PROFILE=${f.fuzzCase.profile}), kept as ${f.file}`,
        `   input (${size(f.fuzzCase)} bytes): ${showInput(f.fuzzCase.content)}`,
        `   seen: ${cut(f.problem.detail)}`,
        ...(this.minimal.has(signature) ? [
          `   shrunk by fast-check to (${size(this.minimal.get(signature)!.fuzzCase)} bytes, CLUSTER_PROFILE=${this.minimal.get(signature)!.fuzzCase.profile}): `
            + showInput(this.minimal.get(signature)!.fuzzCase.content),
          `   seen: ${cut(this.minimal.get(signature)!.detail)}`,
        ] : []),
      ].join('\n');
    });
    return `${header}\n${parts.join('\n')}`;
  }
}

/** Text for the report: characters that would break or rewrite its lines escaped, long text cut. */
function cut(text: string): string {
  const shown = printable(text);
  return shown.length > 600 ? `${shown.slice(0, 600)}… (${shown.length} chars)` : shown;
}

function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb\ud800-\udfff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function size(c: FuzzCase): number {
  return typeof c.content === 'string' ? Buffer.byteLength(c.content) : c.content.length;
}

/** An input as one readable line: JSON-escaped, cut after 800 characters. */
export function showInput(content: string | Uint8Array): string {
  const text = typeof content === 'string' ? printable(JSON.stringify(content)) : `bytes ${Buffer.from(content.slice(0, 400)).toString('hex')}`;
  return text.length > 800 ? `${text.slice(0, 800)}… (cut)` : text;
}
