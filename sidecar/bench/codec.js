#!/usr/bin/env node
// Measures, on the Node side, the cost of the S_RESOLVE round trip's codec work in the binary
// layout of docs/protocol.md versus JSON: encode the request, decode the reply. Run:
//   node sidecar/bench/codec.js
'use strict';

const token = 'A'.repeat(70);
const sessionId = 'abcdefghijklmnopqrstuv';
const data = Buffer.from(JSON.stringify({ userId: 'u-123456', roles: ['admin', 'editor'], cart: [1, 2, 3], csrf: 'x'.repeat(150) }));

function encodeBinary(id) {
  const sb = 'sessions';
  const n = 4 + 1 + 2 + sb.length + 2 + token.length + 1 + 8 + 8;
  const b = Buffer.allocUnsafe(4 + n);
  let o = b.writeUInt32LE(n, 0);
  o = b.writeUInt32LE(id, o);
  o = b.writeUInt8(0x21, o);
  o = b.writeUInt16LE(sb.length, o); o += b.write(sb, o, 'latin1');
  o = b.writeUInt16LE(token.length, o); o += b.write(token, o, 'latin1');
  o = b.writeUInt8(1, o);
  o = b.writeBigUInt64LE(2000n, o);
  b.writeBigUInt64LE(0n, o);
  return b;
}

function replyBinary() {
  const n = 4 + 1 + 2 + 70 + 1 + 8 + 2 + 22 + 4 + data.length;
  const b = Buffer.alloc(4 + n);
  let o = b.writeUInt32LE(n, 0);
  o = b.writeUInt32LE(7, o);
  o = b.writeUInt8(0, o);
  o = b.writeUInt16LE(70, o); o += b.write(token, o, 'latin1');
  o = b.writeUInt8(1, o);
  o = b.writeBigInt64LE(1700000000000n, o);
  o = b.writeUInt16LE(22, o); o += b.write(sessionId, o, 'latin1');
  o = b.writeUInt32LE(data.length, o); data.copy(b, o);
  return b;
}

function decodeBinary(b) {
  let o = 4;
  const id = b.readUInt32LE(o); o += 4;
  const status = b[o++];
  let l = b.readUInt16LE(o); o += 2;
  const tok = b.latin1Slice(o, o + l); o += l;
  const rotated = b[o++] === 1;
  const expiresAt = Number(b.readBigInt64LE(o)); o += 8;
  l = b.readUInt16LE(o); o += 2;
  const sid = b.latin1Slice(o, o + l); o += l;
  l = b.readUInt32LE(o); o += 4;
  const d = JSON.parse(b.utf8Slice(o, o + l));
  return { id, status, tok, rotated, expiresAt, sid, d };
}

const jsonReply = Buffer.from(JSON.stringify({ id: 7, status: 'OK', token, rotated: true, expiresAt: 1700000000000, sessionId, data: JSON.parse(data) }) + '\n');

function encodeJSON(id) {
  return Buffer.from(JSON.stringify({ id, op: 'S_RESOLVE', sandbox: 'sessions', token, rotate: true, graceMs: 2000, minRotateIntervalMs: 0 }) + '\n');
}

function decodeJSON(b) {
  return JSON.parse(b.toString('utf8'));
}

function bench(name, fn) {
  for (let i = 0; i < 200000; i++) fn(i); // warm up
  const n = 1000000;
  const t0 = process.hrtime.bigint();
  let sink = 0;
  for (let i = 0; i < n; i++) sink += fn(i) ? 1 : 0;
  const ns = Number(process.hrtime.bigint() - t0) / n;
  console.log(`${name.padEnd(34)} ${ns.toFixed(0).padStart(6)} ns/op`);
  return sink;
}

const rb = replyBinary();
console.log(`request bytes: binary ${encodeBinary(1).length}, JSON ${encodeJSON(1).length}; reply bytes: binary ${rb.length}, JSON ${jsonReply.length}`);
bench('binary: encode request', (i) => encodeBinary(i));
bench('JSON:   encode request', (i) => encodeJSON(i));
bench('binary: decode reply (+ data JSON)', () => decodeBinary(rb));
bench('JSON:   decode reply', () => decodeJSON(jsonReply));
