/**
 * Framing and primitive encodings of docs/protocol.md: every frame is a u32 little-endian
 * payload length followed by the payload; integers are little-endian; `str` is u16 length +
 * UTF-8; `bytes` is u32 length + raw bytes.
 */
/** Bytes before a request body: u32 frame length, u32 id, u8 op. */
export declare const REQUEST_HEADER_SIZE = 9;
/**
 * Builds one request frame. The frame header is reserved up front so the finished buffer is
 * written to the pipe without another copy; the client stamps the id in just before writing.
 */
export declare class RequestWriter {
    private buf;
    private pos;
    constructor(op: number, sizeHint?: number);
    private ensure;
    u8(v: number): this;
    u16(v: number): this;
    u32(v: number): this;
    /** An unsigned 64-bit integer from a safe, non-negative JS integer (TTLs, durations). */
    u64(v: number): this;
    str(v: string, field?: string): this;
    bytes(v: Uint8Array): this;
    /** The finished frame, with its length filled in and id 0 (the client stamps the real id). */
    finish(): Buffer;
}
/** Writes the request id into a frame built by RequestWriter. */
export declare function stampRequestId(frame: Buffer, id: number): void;
/** Reads the fields of one reply body, refusing truncated fields and trailing bytes. */
export declare class BodyReader {
    private readonly buf;
    private pos;
    constructor(buf: Buffer, offset?: number);
    private need;
    u8(): number;
    u16(): number;
    u32(): number;
    /** u64 as a JS number (counters and sizes stay far below 2^53). */
    u64(): number;
    /** i64 as a JS number (Unix milliseconds and remaining TTLs). */
    i64(): number;
    str(): string;
    bytes(): Buffer;
    /** Asserts the body has been read completely. */
    end(): void;
}
/**
 * Splits a byte stream into frame payloads. Chunks may hold any number of frames or any
 * fraction of one; a frame longer than maxFrameSize is a protocol error (the stream cannot be
 * trusted past it).
 */
export declare class FrameDecoder {
    private readonly maxFrameSize;
    private pending;
    private pendingBytes;
    constructor(maxFrameSize: number);
    /** Feeds a chunk and returns the complete payloads it finished, in order. */
    push(chunk: Buffer): Buffer[];
    /** Bytes of an incomplete frame still buffered (non-zero at EOF means a truncated frame). */
    get buffered(): number;
}
