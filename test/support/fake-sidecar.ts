import { PassThrough } from 'node:stream';
import { FrameDecoder } from '../../src/sidecar/frame-codec';
import { SidecarClient, type SidecarClientOptions } from '../../src/sidecar/sidecar-client';
import { PROTOCOL_VERSION, RequestHeader } from '../../src/sidecar/stdio-protocol.gen';

export interface FakeRequest {
  id: number;
  op: number;
  /** The header's deadline, Unix ms (0 = none). */
  deadline: number;
  body: Buffer;
}

/** Little-endian encoders for building reply bodies in tests. */
export const enc = {
  u8: (v: number) => Buffer.from([v]),
  u16: (v: number) => {
    const b = Buffer.alloc(2);
    b.writeUInt16LE(v);
    return b;
  },
  u32: (v: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    return b;
  },
  i64: (v: number) => {
    const b = Buffer.alloc(8);
    b.writeBigInt64LE(BigInt(v));
    return b;
  },
  str: (v: string) => Buffer.concat([enc.u16(Buffer.byteLength(v)), Buffer.from(v)]),
  bytes: (v: Buffer) => Buffer.concat([enc.u32(v.length), v]),
};

/**
 * An in-process stand-in for the sidecar's pipes: the client writes to `stdin` and reads from
 * `stdout`; the test decides what the "sidecar" answers, when, and in which order.
 */
export class FakeSidecar {
  readonly stdin = new PassThrough();
  readonly stdout = new PassThrough();
  readonly requests: FakeRequest[] = [];
  private readonly decoder = new FrameDecoder(16 * 1024 * 1024);
  private waiters: Array<{ count: number; resolve(): void }> = [];

  constructor() {
    this.stdin.on('data', (chunk: Buffer) => {
      this.decoder.push(chunk, (buf, start, end) => {
        const payload = buf.subarray(start, end);
        this.requests.push({
          id: payload.readUInt32LE(RequestHeader.ID),
          op: payload[RequestHeader.OP],
          deadline: Number(payload.readBigInt64LE(RequestHeader.DEADLINE)),
          body: Buffer.from(payload.subarray(RequestHeader.SIZE)),
        });
      });
      this.waiters = this.waiters.filter((w) => {
        if (this.requests.length < w.count) return true;
        w.resolve();
        return false;
      });
    });
  }

  /** Resolves once at least `count` requests have arrived. */
  waitForRequests(count: number): Promise<void> {
    if (this.requests.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ count, resolve }));
  }

  frame(payload: Buffer): Buffer {
    return Buffer.concat([enc.u32(payload.length), payload]);
  }

  replyFrame(id: number, status: number, body: Buffer = Buffer.alloc(0)): Buffer {
    return this.frame(Buffer.concat([enc.u32(id), enc.u8(status), body]));
  }

  helloFrame(version: number = PROTOCOL_VERSION, build = 'fake-0.0.0'): Buffer {
    return this.frame(Buffer.concat([enc.u32(0), enc.u8(0), enc.u16(version), enc.str(build)]));
  }

  hello(version: number = PROTOCOL_VERSION, build = 'fake-0.0.0'): void {
    this.stdout.write(this.helloFrame(version, build));
  }

  reply(id: number, status: number, body: Buffer = Buffer.alloc(0)): void {
    this.stdout.write(this.replyFrame(id, status, body));
  }

  replyError(id: number, code: number, message: string): void {
    this.reply(id, 2, Buffer.concat([enc.u16(code), enc.str(message)]));
  }
}

/** A SidecarClient over a FakeSidecar (1 s timeout, 100 in flight); `busy` records onBusyChange. */
export function fakeSidecarClient(options: Partial<SidecarClientOptions> = {}) {
  const fake = new FakeSidecar();
  const busy: boolean[] = [];
  const client = new SidecarClient(fake.stdin, fake.stdout, {
    requestTimeoutMs: 1000,
    maxInFlight: 100,
    onBusyChange: (b) => busy.push(b),
    ...options,
  });
  return { fake, client, busy };
}
