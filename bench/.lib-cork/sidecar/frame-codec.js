"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.FrameDecoder = exports.BodyReader = exports.RequestWriter = exports.REQUEST_HEADER_SIZE = void 0;
exports.stampRequestId = stampRequestId;
const xems_errors_1 = require("../xems.errors");
/**
 * Framing and primitive encodings of docs/protocol.md: every frame is a u32 little-endian
 * payload length followed by the payload; integers are little-endian; `str` is u16 length +
 * UTF-8; `bytes` is u32 length + raw bytes.
 */
/** Bytes before a request body: u32 frame length, u32 id, u8 op. */
exports.REQUEST_HEADER_SIZE = 9;
const MAX_STR_BYTES = 0xffff;
/**
 * Builds one request frame. The frame header is reserved up front so the finished buffer is
 * written to the pipe without another copy; the client stamps the id in just before writing.
 */
class RequestWriter {
    buf;
    pos = exports.REQUEST_HEADER_SIZE;
    constructor(op, sizeHint = 64) {
        this.buf = Buffer.allocUnsafe(exports.REQUEST_HEADER_SIZE + sizeHint);
        this.buf[8] = op;
    }
    ensure(extra) {
        if (this.pos + extra <= this.buf.length)
            return;
        const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + extra));
        this.buf.copy(next, 0, 0, this.pos);
        this.buf = next;
    }
    u8(v) {
        this.ensure(1);
        this.buf[this.pos++] = v;
        return this;
    }
    u16(v) {
        this.ensure(2);
        this.buf.writeUInt16LE(v, this.pos);
        this.pos += 2;
        return this;
    }
    u32(v) {
        this.ensure(4);
        this.buf.writeUInt32LE(v, this.pos);
        this.pos += 4;
        return this;
    }
    /** An unsigned 64-bit integer from a safe, non-negative JS integer (TTLs, durations). */
    u64(v) {
        this.ensure(8);
        this.buf.writeUInt32LE(v % 0x1_0000_0000, this.pos);
        this.buf.writeUInt32LE(Math.floor(v / 0x1_0000_0000), this.pos + 4);
        this.pos += 8;
        return this;
    }
    str(v, field = 'string') {
        const len = Buffer.byteLength(v, 'utf8');
        if (len > MAX_STR_BYTES) {
            throw new xems_errors_1.XemsValidationError('BAD_REQUEST', `${field} is ${len} bytes long; the protocol allows ${MAX_STR_BYTES}`, `Shorten the ${field}.`);
        }
        this.ensure(2 + len);
        this.buf.writeUInt16LE(len, this.pos);
        this.buf.write(v, this.pos + 2, len, 'utf8');
        this.pos += 2 + len;
        return this;
    }
    bytes(v) {
        this.ensure(4 + v.length);
        this.buf.writeUInt32LE(v.length, this.pos);
        this.buf.set(v, this.pos + 4);
        this.pos += 4 + v.length;
        return this;
    }
    /** The finished frame, with its length filled in and id 0 (the client stamps the real id). */
    finish() {
        const frame = this.buf.subarray(0, this.pos);
        frame.writeUInt32LE(this.pos - 4, 0);
        frame.writeUInt32LE(0, 4);
        return frame;
    }
}
exports.RequestWriter = RequestWriter;
/** Writes the request id into a frame built by RequestWriter. */
function stampRequestId(frame, id) {
    frame.writeUInt32LE(id, 4);
}
/** Reads the fields of one reply body, refusing truncated fields and trailing bytes. */
class BodyReader {
    buf;
    pos;
    constructor(buf, offset = 0) {
        this.buf = buf;
        this.pos = offset;
    }
    need(n, what) {
        if (this.pos + n > this.buf.length) {
            throw new xems_errors_1.XemsProtocolError('BAD_REPLY', `Reply from the xems sidecar is truncated (reading ${what})`, 'The sidecar binary does not match this module version; rebuild it with "npm run build:sidecar".');
        }
    }
    u8() {
        this.need(1, 'u8');
        return this.buf[this.pos++];
    }
    u16() {
        this.need(2, 'u16');
        const v = this.buf.readUInt16LE(this.pos);
        this.pos += 2;
        return v;
    }
    u32() {
        this.need(4, 'u32');
        const v = this.buf.readUInt32LE(this.pos);
        this.pos += 4;
        return v;
    }
    /** u64 as a JS number (counters and sizes stay far below 2^53). */
    u64() {
        this.need(8, 'u64');
        const lo = this.buf.readUInt32LE(this.pos);
        const hi = this.buf.readUInt32LE(this.pos + 4);
        this.pos += 8;
        return hi * 0x1_0000_0000 + lo;
    }
    /** i64 as a JS number (Unix milliseconds and remaining TTLs). */
    i64() {
        this.need(8, 'i64');
        const lo = this.buf.readUInt32LE(this.pos);
        const hi = this.buf.readInt32LE(this.pos + 4);
        this.pos += 8;
        return hi * 0x1_0000_0000 + lo;
    }
    str() {
        const len = this.u16();
        this.need(len, 'str');
        const v = this.buf.toString('utf8', this.pos, this.pos + len);
        this.pos += len;
        return v;
    }
    bytes() {
        const len = this.u32();
        this.need(len, 'bytes');
        const v = this.buf.subarray(this.pos, this.pos + len);
        this.pos += len;
        return v;
    }
    /** Asserts the body has been read completely. */
    end() {
        if (this.pos !== this.buf.length) {
            throw new xems_errors_1.XemsProtocolError('BAD_REPLY', `Reply from the xems sidecar has ${this.buf.length - this.pos} unexpected trailing bytes`, 'The sidecar binary does not match this module version; rebuild it with "npm run build:sidecar".');
        }
    }
}
exports.BodyReader = BodyReader;
/**
 * Splits a byte stream into frame payloads. Chunks may hold any number of frames or any
 * fraction of one; a frame longer than maxFrameSize is a protocol error (the stream cannot be
 * trusted past it).
 */
class FrameDecoder {
    maxFrameSize;
    pending = [];
    pendingBytes = 0;
    constructor(maxFrameSize) {
        this.maxFrameSize = maxFrameSize;
    }
    /** Feeds a chunk and returns the complete payloads it finished, in order. */
    push(chunk) {
        const out = [];
        let buf;
        if (this.pendingBytes === 0) {
            buf = chunk;
        }
        else {
            this.pending.push(chunk);
            buf = Buffer.concat(this.pending, this.pendingBytes + chunk.length);
            this.pending = [];
            this.pendingBytes = 0;
        }
        let pos = 0;
        while (buf.length - pos >= 4) {
            const len = buf.readUInt32LE(pos);
            if (len > this.maxFrameSize) {
                throw new xems_errors_1.XemsProtocolError('FRAME_TOO_LARGE', `The xems sidecar sent a ${len}-byte frame; the limit is ${this.maxFrameSize}`, 'The sidecar binary does not match this module version; rebuild it with "npm run build:sidecar".');
            }
            if (buf.length - pos - 4 < len)
                break;
            out.push(buf.subarray(pos + 4, pos + 4 + len));
            pos += 4 + len;
        }
        if (pos < buf.length) {
            // Copy the tail so the (possibly large) chunk it came from can be released.
            const rest = Buffer.from(buf.subarray(pos));
            this.pending.push(rest);
            this.pendingBytes = rest.length;
        }
        return out;
    }
    /** Bytes of an incomplete frame still buffered (non-zero at EOF means a truncated frame). */
    get buffered() {
        return this.pendingBytes;
    }
}
exports.FrameDecoder = FrameDecoder;
//# sourceMappingURL=frame-codec.js.map