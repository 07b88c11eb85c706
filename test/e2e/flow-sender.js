#!/usr/bin/env node
// Sends the first packet of many flows, each from its own source address and port, for the
// differential test of `explain`: a JSON list of {proto, src, dst, sport, dport} on stdin. UDP: one
// datagram; TCP: a connect (its SYN), dropped a moment later. Nothing waits for an answer: what
// arrived is read from a counter set in the receiving namespace. Every source address must be local
// in the sender's namespace (the test adds them as local routes). Prints {"sent":N,"errors":[...]} when done.
'use strict';

const dgram = require('node:dgram');
const net = require('node:net');

// EPERM: a local filter (the node's own OUTPUT chain, for nodeEgress) dropped the packet. That is a
// verdict, which the receiving set reads, not a failure to send.
const VERDICTS = ['EPERM'];

function sendUdp(f) {
  return new Promise((resolve) => {
    const sock = dgram.createSocket({ type: f.src.includes(':') ? 'udp6' : 'udp4' });
    sock.on('error', (e) => {
      sock.close();
      resolve(VERDICTS.includes(e.code) ? undefined : `${JSON.stringify(f)}: ${e.code || e.message}`);
    });
    sock.bind({ port: f.sport, address: f.src, exclusive: true }, () => {
      sock.send(Buffer.from('hostnet-explain'), f.dport, f.dst, (err) => {
        sock.close();
        resolve(err && !VERDICTS.includes(err.code) ? `${JSON.stringify(f)}: ${err.code || err.message}` : undefined);
      });
    });
  });
}

function sendTcp(f) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: f.dst, port: f.dport, localAddress: f.src, localPort: f.sport });
    let done = false;
    const finish = (problem) => {
      if (done) return;
      done = true;
      sock.destroy();
      resolve(problem);
    };
    // a refused or reset connection is an answer (the SYN left); anything else means it may not have
    sock.on('error', (e) => finish(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', ...VERDICTS].includes(e.code) ? undefined : `${JSON.stringify(f)}: ${e.code}`));
    sock.on('connect', () => finish(undefined));
    // the SYN leaves within connect(); the wait only keeps the socket until it has
    setTimeout(() => finish(undefined), 20);
  });
}

async function main() {
  let input = '';
  for await (const chunk of process.stdin) input += chunk;
  const flows = JSON.parse(input);
  const errors = [];
  // flows sharing a source address and port would fight over it: such flows go one after another
  const lanes = new Map();
  for (const f of flows) {
    const key = `${f.proto}/${f.src}/${f.sport}`;
    if (!lanes.has(key)) lanes.set(key, []);
    lanes.get(key).push(f);
  }
  const queue = [...lanes.values()];
  const worker = async () => {
    for (let lane = queue.shift(); lane; lane = queue.shift()) {
      for (const f of lane) {
        const problem = await (f.proto === 'tcp' ? sendTcp(f) : sendUdp(f));
        if (problem) errors.push(problem);
      }
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
  process.stdout.write(JSON.stringify({ sent: flows.length, errors }) + '\n');
}

main().catch((e) => {
  process.stderr.write(`flow-sender: ${e.stack || e}\n`);
  process.exit(2);
});
