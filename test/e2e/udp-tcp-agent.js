#!/usr/bin/env node
// Tiny UDP/TCP echo agent for the e2e harness. Plain Node.js, no dependencies,
// because it runs inside network namespaces via `ip netns exec` (no python on CI).
//
// Modes:
//   server udp:ADDR:PORT tcp:ADDR:PORT ...
//       Echo responders. Prints {"ready":true} once every socket is bound.
//   client
//       Long-lived prober driven by JSON lines on stdin:
//         {"id":1,"proto":"udp","to":"198.18.0.53","port":53,"srcPort":53,"srcAddr":"...","timeoutMs":400}
//       answers {"id":1,"ok":true,"detail":"echo","ms":1.2} or {"id":1,"localError":"EADDRINUSE ..."}.
//       Spawning node costs ~80 ms, a request to a warm client well under 1 ms.
//   probe udp|tcp ADDR PORT [srcPort] [timeoutMs]
//       One-shot probe for debugging by hand. Exit 0 = echo, 1 = blocked, 2 = local error.
//
// Both long-lived modes exit when stdin closes, so a crashed test runner leaves no agents behind.
'use strict';

const dgram = require('node:dgram');
const net = require('node:net');
const crypto = require('node:crypto');
const readline = require('node:readline');

// Errors raised while binding the local end: the probe could not even be attempted,
// so the caller must hear about it instead of reading it as "blocked".
const LOCAL_ERRORS = new Set(['EADDRINUSE', 'EADDRNOTAVAIL', 'EACCES', 'EINVAL', 'ERR_SOCKET_BAD_PORT']);

function serve(specs) {
  const pending = specs.map((spec) => {
    const m = /^(udp|tcp):([0-9.]+):(\d+)$/.exec(spec);
    if (!m) throw new Error(`bad listen spec ${spec}`);
    const [, proto, address, portText] = m;
    const port = Number(portText);
    return proto === 'udp' ? serveUdp(address, port) : serveTcp(address, port);
  });
  Promise.all(pending).then(
    () => process.stdout.write(JSON.stringify({ ready: true }) + '\n'),
    (err) => {
      process.stderr.write(`agent server: ${err.message}\n`);
      process.exit(2);
    },
  );
}

function serveUdp(address, port) {
  return new Promise((resolve, reject) => {
    // reuseAddr lets a prober in the same namespace bind this port as its *source* port
    // (e.g. spoofing source port 53); its connected socket still wins the replies.
    const sock = dgram.createSocket({ type: 'udp4', reuseAddr: true });
    sock.once('error', reject);
    sock.on('message', (msg, rinfo) => sock.send(msg, rinfo.port, rinfo.address));
    sock.bind(port, address, () => {
      sock.removeListener('error', reject);
      sock.on('error', (e) => process.stderr.write(`udp ${address}:${port}: ${e.message}\n`));
      resolve();
    });
  });
}

function serveTcp(address, port) {
  return new Promise((resolve, reject) => {
    const server = net.createServer((conn) => {
      conn.on('error', () => conn.destroy());
      conn.setTimeout(2000, () => conn.destroy());
      // Echo the first chunk and close: the server closes first, so the prober never
      // sits in TIME_WAIT and can reuse a fixed source port right away.
      conn.once('data', (data) => conn.end(data));
    });
    server.once('error', reject);
    server.listen({ host: address, port }, () => {
      server.removeListener('error', reject);
      resolve();
    });
  });
}

function probe(req) {
  const started = process.hrtime.bigint();
  const run = req.proto === 'tcp' ? probeTcp : probeUdp;
  return run(req).then((result) => ({
    ...result,
    ms: Number(process.hrtime.bigint() - started) / 1e6,
  }));
}

function probeUdp({ to, port, srcPort, srcAddr, timeoutMs }) {
  return new Promise((resolve) => {
    const nonce = crypto.randomBytes(16);
    const sock = dgram.createSocket({ type: 'udp4', reuseAddr: srcPort !== undefined });
    let bound = false;
    let done = false;
    const finish = (result) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.close();
      resolve(result);
    };
    const timer = setTimeout(() => finish({ ok: false, detail: 'timeout' }), timeoutMs);
    sock.on('error', (e) => finish(bound || !LOCAL_ERRORS.has(e.code)
      ? { ok: false, detail: e.code || e.message }
      : { localError: `${e.code} binding ${srcAddr || '0.0.0.0'}:${srcPort}` }));
    sock.on('message', (msg) => {
      if (msg.equals(nonce)) finish({ ok: true, detail: 'echo' });
    });
    sock.bind({ port: srcPort || 0, address: srcAddr }, () => {
      bound = true;
      // A connected socket only accepts replies from the probed peer, and turns an ICMP
      // port-unreachable into ECONNREFUSED (a fast "false" instead of a timeout).
      sock.connect(port, to, (err) => {
        if (err) return finish({ ok: false, detail: err.code || err.message });
        sock.send(nonce, (sendErr) => {
          if (sendErr) finish({ ok: false, detail: sendErr.code || sendErr.message });
        });
      });
    });
  });
}

function probeTcp({ to, port, srcPort, srcAddr, timeoutMs }) {
  return new Promise((resolve) => {
    const nonce = crypto.randomBytes(16);
    const sock = net.connect({ host: to, port, localPort: srcPort, localAddress: srcAddr });
    let received = Buffer.alloc(0);
    let done = false;
    const finish = (result) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => finish({ ok: false, detail: 'timeout' }), timeoutMs);
    sock.on('error', (e) => finish(LOCAL_ERRORS.has(e.code) && e.syscall === 'bind'
      ? { localError: `${e.code} binding ${srcAddr || '0.0.0.0'}:${srcPort}` }
      : { ok: false, detail: e.code || e.message }));
    sock.on('connect', () => sock.write(nonce));
    sock.on('data', (d) => { received = Buffer.concat([received, d]); });
    // Wait for the server's FIN so the server, not us, holds TIME_WAIT.
    sock.on('end', () => finish(received.equals(nonce)
      ? { ok: true, detail: 'echo' }
      : { ok: false, detail: 'bad echo' }));
  });
}

function client() {
  const lines = readline.createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    if (!line.trim()) return;
    const req = JSON.parse(line);
    probe(req).then((result) => process.stdout.write(JSON.stringify({ id: req.id, ...result }) + '\n'));
  });
  process.stdout.write(JSON.stringify({ ready: true }) + '\n');
}

function probeOnce([proto, to, port, srcPort, timeoutMs]) {
  probe({
    proto,
    to,
    port: Number(port),
    srcPort: srcPort ? Number(srcPort) : undefined,
    timeoutMs: timeoutMs ? Number(timeoutMs) : 400,
  }).then((result) => {
    process.stdout.write(JSON.stringify(result) + '\n');
    process.exit(result.localError ? 2 : result.ok ? 0 : 1);
  });
}

function exitWhenParentGoes() {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('error', () => process.exit(0));
  process.stdin.resume();
}

const [mode, ...rest] = process.argv.slice(2);
if (mode === 'server') {
  exitWhenParentGoes();
  serve(rest);
} else if (mode === 'client') {
  // readline consumes stdin; closing it ends the client too.
  process.stdin.on('end', () => process.exit(0));
  client();
} else if (mode === 'probe') {
  probeOnce(rest);
} else {
  process.stderr.write('usage: udp-tcp-agent.js server SPEC... | client | probe udp|tcp ADDR PORT [srcPort] [timeoutMs]\n');
  process.exit(2);
}
