// A TypeScript reference of what run.ps1 does with the firewall log (src/dialects/windows-log-reader.ts
// renders it as PowerShell, which cannot run here): the same steps in the same order, over the table
// TEXT that apply.ps1 carries and over log bytes, so a test can feed it a hand-written pfirewall.log
// and compare its counts with counts written by hand.
import * as ipaddr from 'ipaddr.js';
import { formatDropLog } from '../../src/dialects/drop-log-format';

/** One line of `apply.ps1 -LogTable`, parsed as Import-LogTable does. */
export interface TableRule {
  readonly rule: string;
  readonly direction: string;
  readonly protocol: string;
  readonly families: string[];
  readonly remote?: [string, string][];
  readonly local?: [string, string][];
  readonly remotePort?: [number, number][];
  readonly localPort?: [number, number][];
}

function ranges<T>(text: string, convert: (s: string) => T): [T, T][] | undefined {
  if (text === '*') return undefined;
  return text.split(',').map((item) => {
    const [a, b] = item.split('-');
    return [convert(a), convert(b)];
  });
}

/** Import-LogTable: lines of 8 space-separated fields; others are skipped. */
export function parseTable(text: string): TableRule[] {
  return text.split('\n').map((line) => line.split(' ')).filter((f) => f.length === 8).map((f) => ({
    rule: f[0],
    direction: f[1],
    protocol: f[2],
    families: f[3].split(','),
    remote: ranges(f[4], String),
    local: ranges(f[5], String),
    remotePort: ranges(f[6], Number),
    localPort: ranges(f[7], Number),
  }));
}

/** ConvertTo-LoggedPacket's result. */
export interface LoggedPacket {
  readonly direction: 'Inbound' | 'Outbound';
  readonly protocol: string;
  readonly family: 'ipv4' | 'ipv6';
  readonly remoteHex: string;
  readonly localHex: string;
  readonly remotePort: number;
  readonly localPort: number;
  readonly source: string;
  readonly destination: string;
  readonly sourcePort: number;
  readonly destinationPort: number;
  readonly size: number;
}

function hex(text: string): string {
  if (!ipaddr.isValid(text)) return '';
  return Buffer.from(ipaddr.parse(text).toByteArray()).toString('hex');
}

function port(text: string): number {
  return /^\d+$/.test(text) ? Number(text) : 0;
}

/** Fields: date time action protocol src-ip dst-ip src-port dst-port size tcpflags tcpsyn tcpack tcpwin icmptype icmpcode info path [pid]. */
export function toPacket(f: string[]): LoggedPacket | undefined {
  let direction: 'Inbound' | 'Outbound';
  let remote: string; let local: string; let remotePort: string; let localPort: string;
  if (f[16] === 'RECEIVE') [direction, remote, local, remotePort, localPort] = ['Inbound', f[4], f[5], f[6], f[7]];
  else if (f[16] === 'SEND') [direction, remote, local, remotePort, localPort] = ['Outbound', f[5], f[4], f[7], f[6]];
  else return undefined;
  const remoteHex = hex(remote);
  const localHex = hex(local);
  if (!remoteHex || !localHex) return undefined;
  const family = remoteHex.length === 32 ? 'ipv6' : 'ipv4';
  const protocol = ['UDP', '17'].includes(f[3]) ? 'UDP' : ['TCP', '6'].includes(f[3]) ? 'TCP'
    : ['ICMP', '1', '58', 'ICMPv6'].includes(f[3]) ? (family === 'ipv6' ? 'ICMPV6' : 'ICMPV4') : f[3].toUpperCase();
  return {
    direction,
    protocol,
    family,
    remoteHex,
    localHex,
    remotePort: port(remotePort),
    localPort: port(localPort),
    source: f[4],
    destination: f[5],
    sourcePort: port(f[6]),
    destinationPort: port(f[7]),
    size: port(f[8]),
  };
}

const inAddresses = (list: [string, string][] | undefined, value: string) => list === undefined
  || list.some(([a, b]) => value.length === a.length && value >= a && value <= b);
const inPorts = (list: [number, number][] | undefined, value: number) => list === undefined || list.some(([a, b]) => value >= a && value <= b);

/** Find-LogRule: the first rule of the table (for the packet's direction and protocol, or any protocol) that matches. */
export function findRule(table: readonly TableRule[], p: LoggedPacket): TableRule | undefined {
  // (a rule for any protocol is indexed under these four only)
  const anyOk = ['UDP', 'TCP', 'ICMPV4', 'ICMPV6'].includes(p.protocol);
  return table.find((r) => r.direction === p.direction && (r.protocol === p.protocol || (r.protocol === 'ANY' && anyOk))
    && r.families.includes(p.family) && inPorts(r.localPort, p.localPort) && inPorts(r.remotePort, p.remotePort)
    && inAddresses(r.remote, p.remoteHex) && inAddresses(r.local, p.localHex));
}

/** A file as the reader sees it: its bytes and its stamp (last write time and length). */
export interface LogFile {
  readonly data: Buffer;
  readonly stamp: string;
}

/** Initialize-LogPosition and Update-DropCounts' reading part, over files held in a map. */
export class LogFollower {
  private offset = 0;
  private oldStamp = '';

  public constructor(private readonly path: string, files: Map<string, LogFile>) {
    this.offset = files.get(path)?.data.length ?? 0;
    this.oldStamp = files.get(`${path}.old`)?.stamp ?? '';
  }

  /** The lines the log gained since the last round. */
  public round(files: Map<string, LogFile>): string[] {
    const lines: string[] = [];
    const old = files.get(`${this.path}.old`);
    const oldStamp = old?.stamp ?? '';
    if (oldStamp !== this.oldStamp) {
      if (old) readFrom(old.data, this.offset, true, lines);
      this.oldStamp = oldStamp;
      this.offset = 0;
    } else if ((files.get(this.path)?.data.length ?? 0) < this.offset) {
      this.offset = 0;
    }
    const current = files.get(this.path);
    if (current) this.offset += readFrom(current.data, this.offset, false, lines);
    return lines;
  }
}

/** Read-LogFrom: whole lines only unless toEnd; returns the bytes consumed. */
function readFrom(data: Buffer, offset: number, toEnd: boolean, lines: string[]): number {
  if (offset >= data.length) return 0;
  const read = data.subarray(offset);
  const end = toEnd ? read.length : read.lastIndexOf(10) + 1;
  if (end <= 0) return 0;
  lines.push(...read.subarray(0, end).toString('ascii').split(/\r?\n/).filter((l) => l));
  return end;
}

/** The counters and drop log of Import-LogTable and Update-DropCounts, for one mode. */
export class DropCounter {
  public readonly packets = new Map<string, number>();
  public readonly bytes = new Map<string, number>();
  public readonly dropLog: string[] = [];
  private readonly counted: string;
  private readonly action: 'drop' | 'would_drop';

  public constructor(private readonly table: readonly TableRule[], audit: boolean) {
    this.counted = audit ? 'ALLOW' : 'DROP';
    this.action = audit ? 'would_drop' : 'drop';
    for (const r of table) {
      for (const family of r.families) {
        const key = this.key(r.rule, r.direction === 'Inbound' ? 'ingress' : 'egress', family);
        if (!this.packets.has(key)) {
          this.packets.set(key, 0);
          this.bytes.set(key, 0);
        }
      }
    }
  }

  public count(lines: readonly string[]): void {
    for (const line of lines) {
      if (line.startsWith('#')) continue;
      const f = line.split(' ');
      if (f.length < 17 || f[2] !== this.counted) continue;
      const p = toPacket(f);
      if (!p) continue;
      const rule = findRule(this.table, p);
      if (!rule) continue;
      const direction = p.direction === 'Inbound' ? 'ingress' : 'egress';
      const key = this.key(rule.rule, direction, p.family);
      this.packets.set(key, (this.packets.get(key) ?? 0) + 1);
      this.bytes.set(key, (this.bytes.get(key) ?? 0) + p.size);
      this.dropLog.push(formatDropLog({
        rule: rule.rule,
        action: this.action,
        protocol: p.protocol === 'ICMPV4' ? 'icmp' : p.protocol.toLowerCase(),
        source: p.source,
        sourcePort: p.sourcePort,
        destination: p.destination,
        destinationPort: p.destinationPort,
        direction,
      }));
    }
  }

  private key(rule: string, direction: string, family: string): string {
    return `rule="${rule}",action="${this.action}",direction="${direction}",family="${family}"`;
  }
}
