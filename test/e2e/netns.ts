// Helpers to run commands and long-lived agents inside network namespaces.
import { ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import * as readline from 'node:readline';

export interface ExecResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface ExecOptions {
  /** Written to the command's stdin (e.g. an iptables-restore payload). */
  readonly input?: string;
  /** Kill the command after this long; default 15 s so a wedged tool cannot hang jest. */
  readonly timeoutMs?: number;
  /** Added to this process's environment. */
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
}

/** The node agent script run inside namespaces. */
export const AGENT_SCRIPT = path.join(__dirname, 'udp-tcp-agent.js');

/** Runs a program; resolves with its exit code and output, never rejects on failure. */
export function run(file: string, args: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  return new Promise((resolve) => {
    const env = opts.env === undefined ? undefined : { ...process.env, ...opts.env };
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'], env, cwd: opts.cwd });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    const timer = setTimeout(() => {
      stderr += `\n[killed after ${opts.timeoutMs ?? 15000} ms]`;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 15000);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ code: 127, stdout, stderr: stderr + String(err) });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
    child.stdin.on('error', () => { /* the command may exit without reading its input */ });
    child.stdin.end(opts.input ?? '');
  });
}

/** Runs `sh -c cmd` in namespace `ns` (or the current one when ns is undefined). */
export function nsExec(ns: string | undefined, cmd: string, opts?: ExecOptions): Promise<ExecResult> {
  return ns === undefined
    ? run('sh', ['-c', cmd], opts)
    : run('ip', ['netns', 'exec', ns, 'sh', '-c', cmd], opts);
}

/** Like nsExec, but throws with the command's stderr when it exits non-zero. */
export async function nsExecOk(ns: string | undefined, cmd: string, opts?: ExecOptions): Promise<ExecResult> {
  const result = await nsExec(ns, cmd, opts);
  if (result.code !== 0) {
    throw new Error(`[${ns ?? 'host'}] exit ${result.code}: ${cmd}\n${result.stderr.trim()}`);
  }
  return result;
}

export async function listNamespaces(): Promise<string[]> {
  const { stdout } = await run('ip', ['netns', 'list']);
  // Lines look like "name" or "name (id: 3)".
  return stdout.split('\n').map((line) => line.split(' ')[0]).filter((name) => name.length > 0);
}

/**
 * Kills what still runs inside `ns`, then deletes it. A namespace outlives its name while
 * processes stay inside, so an agent left by a crashed run would keep answering probes.
 */
export async function deleteNamespace(ns: string): Promise<void> {
  const { stdout } = await run('ip', ['netns', 'pids', ns]);
  for (const pid of stdout.split(/\s+/).filter(Boolean).map(Number)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await run('ip', ['netns', 'del', ns]);
}

/**
 * A udp-tcp-agent.js process living in a namespace, spoken to in JSON lines.
 * It exits by itself when our end of its stdin closes.
 */
export class NetnsAgent {
  /** Starts `node udp-tcp-agent.js <args>` in `ns` and waits for its ready line. */
  static start(ns: string, args: readonly string[], readyTimeoutMs = 10000): Promise<NetnsAgent> {
    // process.execPath: the exact node running jest, whatever PATH `ip netns exec` sees.
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, AGENT_SCRIPT, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const agent = new NetnsAgent(ns, child);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`agent in ${ns} not ready after ${readyTimeoutMs} ms: ${agent.stderr}`));
      }, readyTimeoutMs);
      agent.onReady = () => {
        clearTimeout(timer);
        resolve(agent);
      };
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`agent in ${ns} exited (${code}) before ready: ${agent.stderr.trim()}`));
      });
    });
  }

  private readonly pending = new Map<number, (reply: Record<string, unknown>) => void>();
  private nextId = 1;
  private stderr = '';
  private exited = false;
  private onReady?: () => void;

  private constructor(readonly ns: string, private readonly child: ChildProcess) {
    child.stderr!.setEncoding('utf8').on('data', (d: string) => { this.stderr += d; });
    child.stdin!.on('error', () => { /* agent died; reported through 'exit' */ });
    readline.createInterface({ input: child.stdout! }).on('line', (line) => this.onLine(line));
    child.once('exit', () => {
      this.exited = true;
      const error = { localError: `agent in ${this.ns} exited: ${this.stderr.trim()}` };
      for (const settle of this.pending.values()) settle(error);
      this.pending.clear();
    });
  }

  /** Sends one request and resolves with the agent's reply (`id` is filled in here). */
  request(msg: Record<string, unknown>): Promise<Record<string, unknown>> {
    if (this.exited) {
      return Promise.reject(new Error(`agent in ${this.ns} has exited: ${this.stderr.trim()}`));
    }
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.child.stdin!.write(JSON.stringify({ ...msg, id }) + '\n');
    });
  }

  /** Stops the agent and waits until it is gone. Safe to call twice. */
  async stop(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGKILL');
    await gone;
  }

  private onLine(line: string): void {
    const reply = JSON.parse(line) as Record<string, unknown>;
    if (reply.ready === true) {
      this.onReady?.();
      return;
    }
    const settle = this.pending.get(reply.id as number);
    this.pending.delete(reply.id as number);
    settle?.(reply);
  }
}
