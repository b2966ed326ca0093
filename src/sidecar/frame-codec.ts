import { XemsProtocolError, XemsValidationError, MISMATCHED_SIDECAR_HINT } from '../xems.errors';
import { FieldReader, FieldWriter, Limits, RequestHeader } from './stdio-protocol.gen';

/**
 * Framing and primitive encodings of docs/protocol.md: every frame is a u32 little-endian
 * payload length followed by the payload; integers are little-endian; `str` is u16 length +
 * UTF-8; `bytes` is u32 length + raw bytes. The header layouts come from the protocol table
 * (stdio-protocol.gen.ts).
 */

/** The u32 payload length that starts every frame. */
const LENGTH_SIZE = 4;
/** Bytes before a request body: the frame length and the request header (id, op, deadline). */
export const REQUEST_PREFIX_SIZE = LENGTH_SIZE + RequestHeader.SIZE;
const MAX_STR_BYTES = Limits.maxStrBytes;
/**
 * Strings up to this many characters are copied by a JS loop (no call into C++); longer ones
 * (tokens: 70) by one Buffer write, about twice as fast as the loop at that length.
 */
const ASCII_LOOP_MAX = 32;

/**
 * Builds one request frame. The frame and request headers are reserved up front so the
 * finished buffer is written to the pipe without another copy; the client stamps the id and
 * the deadline in just before writing (stampRequestHeader).
 */
export class RequestWriter implements FieldWriter {
  private buf: Buffer;
  private pos = REQUEST_PREFIX_SIZE;

  constructor(op: number, sizeHint = 64) {
    this.buf = Buffer.allocUnsafe(REQUEST_PREFIX_SIZE + sizeHint);
    this.buf[LENGTH_SIZE + RequestHeader.OP] = op;
  }

  private ensure(extra: number): void {
    if (this.pos + extra <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + extra));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  u8(v: number): this {
    this.ensure(1);
    this.buf[this.pos++] = v;
    return this;
  }

  u16(v: number): this {
    this.ensure(2);
    this.buf.writeUInt16LE(v, this.pos);
    this.pos += 2;
    return this;
  }

  u32(v: number): this {
    this.ensure(4);
    this.buf.writeUInt32LE(v, this.pos);
    this.pos += 4;
    return this;
  }

  /** An unsigned 64-bit integer from a safe, non-negative JS integer (TTLs, durations). */
  u64(v: number): this {
    this.ensure(8);
    this.buf.writeUInt32LE(v % 0x1_0000_0000, this.pos);
    this.buf.writeUInt32LE(Math.floor(v / 0x1_0000_0000), this.pos + 4);
    this.pos += 8;
    return this;
  }

  /** A signed 64-bit integer from a safe JS integer (Unix milliseconds). */
  i64(v: number): this {
    this.ensure(8);
    writeI64(this.buf, v, this.pos);
    this.pos += 8;
    return this;
  }

  str(v: string, field = 'string'): this {
    // Tokens, ids and sandbox names are ASCII: written without measuring the string first
    // (on every request, Buffer.byteLength and a write cost more than the rest of the frame).
    if (v.length <= ASCII_LOOP_MAX ? this.asciiStr(v) : this.asciiWrite(v)) return this;
    const len = Buffer.byteLength(v, 'utf8');
    if (len > MAX_STR_BYTES) {
      throw new XemsValidationError('BAD_REQUEST', `${field} is ${len} bytes long; the protocol allows ${MAX_STR_BYTES}`, `Shorten the ${field}.`);
    }
    this.ensure(2 + len);
    this.buf.writeUInt16LE(len, this.pos);
    this.buf.write(v, this.pos + 2, len, 'utf8');
    this.pos += 2 + len;
    return this;
  }

  /**
   * Writes `v` as a str if it is all ASCII, by one UTF-8 write of at most v.length + 4 bytes;
   * false, with nothing kept, if not. It wrote exactly v.length bytes only if every character
   * took one: a non-ASCII one takes 2-4, and with that room the write stops short by less than
   * one character's bytes, so it cannot land on v.length either.
   */
  private asciiWrite(v: string): boolean {
    const n = v.length;
    if (n > MAX_STR_BYTES) return false; // the general path reports it
    this.ensure(2 + n + 4);
    if (this.buf.write(v, this.pos + 2, n + 4) !== n) return false;
    this.buf[this.pos] = n & 0xff;
    this.buf[this.pos + 1] = n >>> 8;
    this.pos += 2 + n;
    return true;
  }

  /** Writes `v` as a str if it is all ASCII (one byte per character); false, with nothing written, if not. */
  private asciiStr(v: string): boolean {
    const n = v.length;
    this.ensure(2 + n);
    const buf = this.buf;
    const at = this.pos + 2;
    for (let i = 0; i < n; i++) {
      const c = v.charCodeAt(i);
      if (c >= 0x80) return false; // the bytes copied so far are overwritten by the general path
      buf[at + i] = c;
    }
    buf[this.pos] = n & 0xff;
    buf[this.pos + 1] = n >>> 8;
    this.pos = at + n;
    return true;
  }

  bytes(v: Uint8Array): this {
    this.ensure(4 + v.length);
    this.buf.writeUInt32LE(v.length, this.pos);
    this.buf.set(v, this.pos + 4);
    this.pos += 4 + v.length;
    return this;
  }

  /** The finished frame, with its length filled in, id 0 and no deadline (stampRequestHeader sets both). */
  finish(): Buffer {
    const frame = this.buf.subarray(0, this.pos);
    frame.writeUInt32LE(this.pos - LENGTH_SIZE, 0);
    stampRequestHeader(frame, 0, 0);
    return frame;
  }
}

/** Writes a safe JS integer as a little-endian two's complement i64 (no BigInt). */
function writeI64(buf: Buffer, v: number, at: number): void {
  const hi = Math.floor(v / 0x1_0000_0000);
  buf.writeUInt32LE(v - hi * 0x1_0000_0000, at);
  buf.writeInt32LE(hi, at + 4);
}

/**
 * Writes the request id and deadline (Unix ms after which the caller has given up; 0 = none)
 * into a frame built by RequestWriter.
 */
export function stampRequestHeader(frame: Buffer, id: number, deadlineMs: number): void {
  frame.writeUInt32LE(id, LENGTH_SIZE + RequestHeader.ID);
  writeI64(frame, deadlineMs, LENGTH_SIZE + RequestHeader.DEADLINE);
}

/** Reads the fields of one reply body, refusing truncated fields and trailing bytes. */
export class BodyReader implements FieldReader {
  private pos: number;

  /** Reads `buf` from `offset` up to `end` (the body's end: a frame in a larger chunk). */
  constructor(
    private readonly buf: Buffer,
    offset = 0,
    private readonly endAt = buf.length,
  ) {
    this.pos = offset;
  }

  private need(n: number, what: string): void {
    if (this.pos + n > this.endAt) {
      throw new XemsProtocolError('BAD_REPLY', `Reply from the xems sidecar is truncated (reading ${what})`, MISMATCHED_SIDECAR_HINT);
    }
  }

  u8(): number {
    this.need(1, 'u8');
    return this.buf[this.pos++];
  }

  u16(): number {
    this.need(2, 'u16');
    const v = this.buf.readUInt16LE(this.pos);
    this.pos += 2;
    return v;
  }

  u32(): number {
    this.need(4, 'u32');
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }

  /** u64 as a JS number (counters and sizes stay far below 2^53). */
  u64(): number {
    this.need(8, 'u64');
    const lo = this.buf.readUInt32LE(this.pos);
    const hi = this.buf.readUInt32LE(this.pos + 4);
    this.pos += 8;
    return hi * 0x1_0000_0000 + lo;
  }

  /** i64 as a JS number (Unix milliseconds and remaining TTLs). */
  i64(): number {
    this.need(8, 'i64');
    const lo = this.buf.readUInt32LE(this.pos);
    const hi = this.buf.readInt32LE(this.pos + 4);
    this.pos += 8;
    return hi * 0x1_0000_0000 + lo;
  }

  str(): string {
    const len = this.u16();
    if (len === 0) return '';
    this.need(len, 'str');
    // No encoding argument: UTF-8 without the lookup of an encoding by name (on every field of every reply).
    const v = this.buf.toString(undefined, this.pos, this.pos + len);
    this.pos += len;
    return v;
  }

  bytes(): Buffer {
    const len = this.u32();
    this.need(len, 'bytes');
    const v = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return v;
  }

  /** Asserts the body has been read completely. */
  end(): void {
    if (this.pos !== this.endAt) {
      throw new XemsProtocolError('BAD_REPLY', `Reply from the xems sidecar has ${this.endAt - this.pos} unexpected trailing bytes`, MISMATCHED_SIDECAR_HINT);
    }
  }
}

/** Receives one complete frame payload: `buf` from `start` to `end` (a view into the chunk read). */
export type PayloadHandler = (buf: Buffer, start: number, end: number) => void;

/**
 * Splits a byte stream into frame payloads. Chunks may hold any number of frames or any
 * fraction of one; a frame longer than maxFrameSize is a protocol error (the stream cannot be
 * trusted past it). Payloads are handed over as offsets into the chunk, not as a Buffer each
 * (a reply burst is one chunk of many frames, read on every call).
 */
export class FrameDecoder {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly maxFrameSize: number) {}

  /**
   * Feeds a chunk and hands each payload it completes to `onPayload`, in order. If the handler
   * throws, the decoder is left unusable (its caller closes the stream).
   */
  push(chunk: Buffer, onPayload: PayloadHandler): void {
    let buf: Buffer;
    if (this.pendingBytes === 0) {
      buf = chunk;
    } else {
      this.pending.push(chunk);
      buf = Buffer.concat(this.pending, this.pendingBytes + chunk.length);
      this.pending = [];
      this.pendingBytes = 0;
    }
    let pos = 0;
    while (buf.length - pos >= LENGTH_SIZE) {
      const len = buf.readUInt32LE(pos);
      if (len > this.maxFrameSize) {
        throw new XemsProtocolError('FRAME_TOO_LARGE', `The xems sidecar sent a ${len}-byte frame; the limit is ${this.maxFrameSize}`, MISMATCHED_SIDECAR_HINT);
      }
      if (buf.length - pos - 4 < len) break;
      onPayload(buf, pos + 4, pos + 4 + len);
      pos += 4 + len;
    }
    if (pos < buf.length) {
      // Copy the tail so the (possibly large) chunk it came from can be released.
      const rest = Buffer.from(buf.subarray(pos));
      this.pending.push(rest);
      this.pendingBytes = rest.length;
    }
  }

  /** Bytes of an incomplete frame still buffered (non-zero at EOF means a truncated frame). */
  get buffered(): number {
    return this.pendingBytes;
  }
}
