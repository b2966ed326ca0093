import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { XemsProtocolError, XemsValidationError } from '../xems.errors';
import { BodyReader, FrameDecoder, RequestWriter, stampRequestHeader } from './frame-codec';

function frame(payload: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32LE(payload.length);
  return Buffer.concat([len, payload]);
}

describe('RequestWriter', () => {
  it('lays out a request frame exactly as docs/protocol.md says', () => {
    const f = new RequestWriter(0x21, 1).str('sb').str('tok').u8(1).u64(2000).u64(0x1_0000_0001).finish();
    stampRequestHeader(f, 0xdeadbeef, 1_900_000_000_123);
    const deadline = Buffer.alloc(8);
    deadline.writeBigInt64LE(1_900_000_000_123n);
    const expected = Buffer.concat([
      Buffer.from([0xef, 0xbe, 0xad, 0xde]), // id
      Buffer.from([0x21]), // op
      deadline, // i64 Unix ms
      Buffer.from([2, 0]), Buffer.from('sb'),
      Buffer.from([3, 0]), Buffer.from('tok'),
      Buffer.from([1]),
      Buffer.from([0xd0, 0x07, 0, 0, 0, 0, 0, 0]),
      Buffer.from([1, 0, 0, 0, 1, 0, 0, 0]),
    ]);
    assert.deepEqual(f, frame(expected));
  });

  it('encodes bytes with a u32 length and grows past its size hint', () => {
    const big = Buffer.alloc(5000, 7);
    const f = new RequestWriter(0x10, 0).bytes(big).u16(0xbeef).finish();
    assert.equal(f.readUInt32LE(0), 4 + 1 + 8 + 4 + 5000 + 2);
    assert.equal(f.readUInt32LE(17), 5000);
    assert.equal(f[21], 7);
    assert.equal(f.readUInt16LE(21 + 5000), 0xbeef);
  });

  it('writes i64 deadlines and values in two\'s complement, negative ones too', () => {
    for (const v of [0, 1, 2 ** 32, 1_900_000_000_123, -1, -(2 ** 40) - 3]) {
      const f = new RequestWriter(1).i64(v).finish();
      assert.equal(f.readBigInt64LE(17), BigInt(v));
      stampRequestHeader(f, 1, v);
      assert.equal(f.readBigInt64LE(9), BigInt(v));
    }
  });

  it('counts UTF-8 bytes, not characters, and refuses strings over 65535 bytes', () => {
    const f = new RequestWriter(1).str('é€').finish();
    assert.equal(f.readUInt16LE(17), 5);
    assert.throws(() => new RequestWriter(1).str('x'.repeat(65536), 'token'), XemsValidationError);
  });

  it('writes every string as its UTF-8 bytes, ASCII or not, short or long, at any size hint', () => {
    const strings = ['', 'a', 'bench.micro', 'x'.repeat(70), 'abc€', '€abc', 'ab\u007f', 'ab\u0080', 'y'.repeat(256), 'z'.repeat(257), 'q'.repeat(255) + 'é', '\ud83d\ude00'];
    // Longer than the copy loop's 32 characters (one bounded write tells ASCII apart): non-ASCII
    // first, last, everywhere, at the write's bound (2, 3 and 4-byte characters), lone surrogates.
    const long = ['a'.repeat(33), 'é'.repeat(35), '€'.repeat(40), 'a'.repeat(40) + 'é', 'é' + 'a'.repeat(40), 'a'.repeat(34) + 'éé', 'a'.repeat(33) + '€€'];
    long.push('b'.repeat(33) + '\ud83d\ude00', '\ud83d\ude00'.repeat(20), 'c'.repeat(40) + '\ud83d', '\ude00' + 'd'.repeat(40));
    for (let at = 0; at < 40; at += 3) long.push('x'.repeat(at) + 'ü' + 'x'.repeat(40 - at));
    strings.push(...long);
    for (const hint of [0, 8, 512]) {
      const w = new RequestWriter(1, hint);
      for (const v of strings) w.str(v).u8(0xaa);
      const body = w.finish().subarray(17);
      const expected = Buffer.concat(strings.map((v) => {
        const bytes = Buffer.from(v, 'utf8');
        const len = Buffer.alloc(2);
        len.writeUInt16LE(bytes.length);
        return Buffer.concat([len, bytes, Buffer.from([0xaa])]);
      }));
      assert.deepEqual(body, expected, `size hint ${hint}`);
    }
  });
});

describe('BodyReader', () => {
  it('reads every primitive, including negative i64', () => {
    const i64 = Buffer.alloc(8);
    i64.writeBigInt64LE(-5n);
    const u64 = Buffer.alloc(8);
    u64.writeBigUInt64LE(2n ** 40n + 3n);
    const body = Buffer.concat([Buffer.from([9, 0x34, 0x12, 4, 0, 0, 0]), u64, i64, Buffer.from([2, 0]), Buffer.from('hi'), Buffer.from([1, 0, 0, 0, 0xff])]);
    const r = new BodyReader(body);
    assert.equal(r.u8(), 9);
    assert.equal(r.u16(), 0x1234);
    assert.equal(r.u32(), 4);
    assert.equal(r.u64(), 2 ** 40 + 3);
    assert.equal(r.i64(), -5);
    assert.equal(r.str(), 'hi');
    assert.deepEqual(r.bytes(), Buffer.from([0xff]));
    r.end();
  });

  it('refuses truncated fields and trailing bytes with XemsProtocolError', () => {
    assert.throws(() => new BodyReader(Buffer.from([5, 0, 1])).str(), XemsProtocolError);
    assert.throws(() => new BodyReader(Buffer.from([9, 0, 0, 0, 1])).bytes(), XemsProtocolError);
    assert.throws(() => new BodyReader(Buffer.from([1, 2])).u32(), XemsProtocolError);
    const r = new BodyReader(Buffer.from([1, 2]));
    r.u8();
    assert.throws(() => r.end(), /trailing/);
  });

  it('reads a body that ends before its buffer does (a frame inside a chunk)', () => {
    const chunk = Buffer.from([0xee, 2, 0, 0x68, 0x69, 7, 0xee, 0xee]);
    const r = new BodyReader(chunk, 1, 6);
    assert.equal(r.str(), 'hi');
    assert.equal(r.u8(), 7);
    r.end();
    assert.throws(() => r.u8(), /truncated/, 'the bytes after the body are not part of it');
    const short = new BodyReader(chunk, 1, 4);
    assert.throws(() => short.str(), /truncated/);
  });
});

/** The payloads `push` hands over, copied out of the chunk. */
function payloads(d: FrameDecoder, chunk: Buffer): Buffer[] {
  const out: Buffer[] = [];
  d.push(chunk, (buf, start, end) => out.push(Buffer.from(buf.subarray(start, end))));
  return out;
}

describe('FrameDecoder', () => {
  const a = frame(Buffer.from('first'));
  const b = frame(Buffer.from(''));
  const c = frame(Buffer.alloc(300, 1));
  const stream = Buffer.concat([a, b, c]);

  it('splits several frames in one chunk', () => {
    const out = payloads(new FrameDecoder(1024), stream);
    assert.deepEqual(out.map((p) => p.length), [5, 0, 300]);
    assert.equal(out[0].toString(), 'first');
  });

  it('reassembles frames split at every possible byte boundary', () => {
    for (let cut = 1; cut < stream.length; cut++) {
      const d = new FrameDecoder(1024);
      const out = [...payloads(d, stream.subarray(0, cut)), ...payloads(d, stream.subarray(cut))];
      assert.deepEqual(out.map((p) => p.length), [5, 0, 300], `cut at ${cut}`);
      assert.equal(d.buffered, 0);
    }
  });

  it('survives one byte at a time', () => {
    const d = new FrameDecoder(1024);
    const out: Buffer[] = [];
    for (const byte of stream) out.push(...payloads(d, Buffer.from([byte])));
    assert.deepEqual(out.map((p) => p.length), [5, 0, 300]);
  });

  it('reports an incomplete frame as buffered bytes', () => {
    const d = new FrameDecoder(1024);
    assert.deepEqual(payloads(d, a.subarray(0, 6)), []);
    assert.equal(d.buffered, 6);
  });

  it('refuses a declared length above the maximum before buffering it', () => {
    const d = new FrameDecoder(100);
    const header = Buffer.alloc(4);
    header.writeUInt32LE(101);
    assert.throws(() => payloads(d, header), /101-byte frame/);
  });
});
