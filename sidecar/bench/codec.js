#!/usr/bin/env node
// Measures, on the Node side, the cost of the S_RESOLVE round trip's codec work in the binary
// layout of docs/protocol.md versus JSON: encode the request, decode the reply. The binary side
// is the module's own codec (RequestWriter and BodyReader with the encoders and decoders
// generated from scripts/protocol-table.js), loaded from the build. Run:
//   npm run build && node sidecar/bench/codec.js
'use strict';

const { join } = require('node:path');
const table = require('../../scripts/protocol-table.js');

const dist = join(__dirname, '..', '..', 'dist', 'sidecar');
let codec;
let wire;
try {
  codec = require(join(dist, 'frame-codec.js'));
  wire = require(join(dist, 'stdio-protocol.gen.js'));
} catch (err) {
  console.error(`codec.js needs the built module (${dist}): run "npm run build" first.\n${err.message}`);
  process.exit(1);
}

const token = 'A'.repeat(70);
const sessionId = 'abcdefghijklmnopqrstuv';
const data = Buffer.from(JSON.stringify({ userId: 'u-123456', roles: ['admin', 'editor'], cart: [1, 2, 3], csrf: 'x'.repeat(150) }));

function encodeBinary(id) {
  const w = new codec.RequestWriter(wire.Op.S_RESOLVE, 112);
  wire.encodeSResolveRequest(w, { sandbox: 'sessions', token, flags: wire.ResolveFlags.ROTATE, graceMs: 2000, minRotateIntervalMs: 0 });
  const frame = w.finish();
  codec.stampRequestHeader(frame, id, 0);
  return frame;
}

/** A sample OK reply body of S_RESOLVE, laid out field by field as the table says. */
function replyBody() {
  const sample = { token, rotated: 1, expiresAt: 1700000000000, sessionId, data, sessionFlags: 0, mismatch: 0, csrfToken: '' };
  const parts = [];
  for (const [name, type] of table.ops.S_RESOLVE.reply.OK) {
    const v = sample[name];
    const b = Buffer.alloc({ u8: 1, u16: 2, u32: 4, u64: 8, i64: 8 }[type] ?? 0);
    if (type === 'u8') b.writeUInt8(v);
    else if (type === 'i64') b.writeBigInt64LE(BigInt(v));
    else if (type === 'str') parts.push(Buffer.from([v.length & 0xff, v.length >> 8]), Buffer.from(v, 'utf8'));
    else if (type === 'bytes') {
      const len = Buffer.alloc(4);
      len.writeUInt32LE(v.length);
      parts.push(len, v);
    } else throw new Error(`no sample encoding for ${type}`);
    if (b.length) parts.push(b);
  }
  return Buffer.concat(parts);
}

const body = replyBody();
const rb = Buffer.alloc(4 + wire.ReplyHeader.SIZE + body.length);
rb.writeUInt32LE(wire.ReplyHeader.SIZE + body.length, 0);
rb.writeUInt32LE(7, 4 + wire.ReplyHeader.ID);
rb[4 + wire.ReplyHeader.STATUS] = wire.Status.OK;
body.copy(rb, 4 + wire.ReplyHeader.SIZE);

function decodeBinary(b) {
  const reply = wire.decodeSResolveReply(new codec.BodyReader(b, 4 + wire.ReplyHeader.SIZE));
  reply.d = JSON.parse(reply.data.toString('utf8'));
  return reply;
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

console.log(`request bytes: binary ${encodeBinary(1).length}, JSON ${encodeJSON(1).length}; reply bytes: binary ${rb.length}, JSON ${jsonReply.length}`);
bench('binary: encode request', (i) => encodeBinary(i + 1));
bench('JSON:   encode request', (i) => encodeJSON(i));
bench('binary: decode reply (+ data JSON)', () => decodeBinary(rb));
bench('JSON:   decode reply', () => decodeJSON(jsonReply));
