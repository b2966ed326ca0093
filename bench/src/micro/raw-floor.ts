/**
 * The floor of the Node <-> sidecar path without the library: `startRawFloor` is the micro-
 * benchmark's `raw-floor PING` case (issue 18 measures the library against it in the same run),
 * and the CLI below is a diagnostic. Speaks docs/protocol.md directly with the cheapest client we could write (frames
 * written once per event-loop turn, no timers, no JSON), so the micro-benchmark's numbers can be
 * split into "the sidecar and the pipe" and "the library's client". The op codes and field
 * layouts are the generated ones (stdio-protocol.gen.ts from scripts/protocol-table.js), read
 * from the built library: run `npm run build` in the repository first. Usage:
 *   node build/micro/raw-floor.js [binary] [durationMs] [rotate|get|ping]
 * `ping` sends PING (no work in the sidecar): the round trip of the pipe and the wake-ups alone.
 */
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { MICRO_DEPTHS, VALUE_BYTES } from '../config';
import { libraryRequire } from '../infra/library';
import { cpuMicros } from '../infra/proc';
import { percentiles, Samples } from '../load/stats';

// The protocol's constants and field layouts, generated from scripts/protocol-table.js: loaded
// from the built library (XEMS_BENCH_LIB, default ../dist) like the rest of the benchmarks.
type Wire = typeof import('nestjs-xems/sidecar/stdio-protocol.gen');
const wire = libraryRequire()('./sidecar/stdio-protocol.gen') as Wire;
const { Op, Status, RequestHeader, ReplyHeader, ResolveFlags, PROTOCOL_VERSION } = wire;
const SANDBOX = 'bench.raw';
const NO_DEADLINE = 0;

/** The cheapest FieldWriter: one fixed buffer, no growth checks. */
class Writer {
  private buf = Buffer.allocUnsafe(512);
  private n = 4; // room for the length prefix
  u8(v: number): this {
    this.buf[this.n++] = v;
    return this;
  }
  u16(v: number): this {
    this.buf.writeUInt16LE(v, this.n);
    this.n += 2;
    return this;
  }
  u32(v: number): this {
    this.buf.writeUInt32LE(v, this.n);
    this.n += 4;
    return this;
  }
  u64(v: number): this {
    this.buf.writeBigUInt64LE(BigInt(v), this.n);
    this.n += 8;
    return this;
  }
  i64(v: number): this {
    this.buf.writeBigInt64LE(BigInt(v), this.n);
    this.n += 8;
    return this;
  }
  str(v: string): this {
    const len = this.buf.write(v, this.n + 2, 'utf8');
    this.buf.writeUInt16LE(len, this.n);
    this.n += 2 + len;
    return this;
  }
  bytes(b: Uint8Array): this {
    this.u32(b.length);
    this.buf.set(b, this.n);
    this.n += b.length;
    return this;
  }
  frame(): Buffer {
    this.buf.writeUInt32LE(this.n - 4, 0);
    return this.buf.subarray(0, this.n);
  }
}

/** The cheapest FieldReader over one reply body. */
class Reader {
  private pos: number;
  constructor(
    private readonly b: Buffer,
    offset: number,
  ) {
    this.pos = offset;
  }
  u8(): number {
    return this.b[this.pos++];
  }
  u16(): number {
    const v = this.b.readUInt16LE(this.pos);
    this.pos += 2;
    return v;
  }
  u32(): number {
    const v = this.b.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  u64(): number {
    const v = Number(this.b.readBigUInt64LE(this.pos));
    this.pos += 8;
    return v;
  }
  i64(): number {
    const v = Number(this.b.readBigInt64LE(this.pos));
    this.pos += 8;
    return v;
  }
  str(): string {
    const len = this.u16();
    this.pos += len;
    return this.b.toString('latin1', this.pos - len, this.pos);
  }
  bytes(): Buffer {
    const len = this.u32();
    this.pos += len;
    return this.b.subarray(this.pos - len, this.pos);
  }
  end(): void {
    if (this.pos !== this.b.length) throw new Error(`${this.b.length - this.pos} trailing bytes in a reply`);
  }
}

class RawClient {
  private readonly pending = new Map<number, (status: number, body: Reader) => void>();
  private nextId = 1;
  private queue: Buffer[] = [];
  private flushScheduled = false;
  private inbuf: Buffer = Buffer.alloc(0);
  readonly hello: Promise<void>;
  private onHello!: () => void;

  constructor(private readonly child: ReturnType<typeof spawn>) {
    this.hello = new Promise((r) => (this.onHello = r));
    child.stdout!.on('data', (c: Buffer) => this.onData(c));
  }

  private onData(c: Buffer): void {
    this.inbuf = this.inbuf.length ? Buffer.concat([this.inbuf, c]) : c;
    let off = 0;
    while (this.inbuf.length - off >= 4) {
      const len = this.inbuf.readUInt32LE(off);
      if (this.inbuf.length - off - 4 < len) break;
      const payload = this.inbuf.subarray(off + 4, off + 4 + len);
      off += 4 + len;
      const id = payload.readUInt32LE(ReplyHeader.ID);
      if (id === 0) {
        this.onHello();
        continue;
      }
      const cb = this.pending.get(id);
      this.pending.delete(id);
      cb?.(payload[ReplyHeader.STATUS], new Reader(payload, ReplyHeader.SIZE));
    }
    this.inbuf = this.inbuf.subarray(off);
  }

  call(op: number, fill: (w: Writer) => void = () => undefined): Promise<{ status: number; body: Reader }> {
    const id = this.nextId++;
    const w = new Writer().u32(id).u8(op).i64(NO_DEADLINE);
    fill(w);
    const frame = w.frame();
    this.queue.push(frame);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      process.nextTick(() => {
        this.flushScheduled = false;
        const q = this.queue;
        this.queue = [];
        this.child.stdin!.write(q.length === 1 ? q[0] : Buffer.concat(q));
      });
    }
    return new Promise((resolve) => this.pending.set(id, (status, body) => resolve({ status, body })));
  }
}

const HELLO_TIMEOUT_MS = 10_000;

/** Spawns the sidecar, waits for its hello and configures it (defaults, memory store). */
async function connect(binary: string): Promise<{ child: ReturnType<typeof spawn>; client: RawClient }> {
  if (RequestHeader.SIZE !== 13) throw new Error('raw-floor writes a 13-byte request header (u32 id, u8 op, i64 deadline)');
  const child = spawn(binary, [], { stdio: ['pipe', 'pipe', 'inherit'] });
  const client = new RawClient(child);
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.hello,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${binary} sent no hello within ${HELLO_TIMEOUT_MS} ms`)), HELLO_TIMEOUT_MS);
        child.once('error', reject);
        child.once('exit', (code) => reject(new Error(`${binary} exited (${code}) before its hello`)));
      }),
    ]);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  } finally {
    clearTimeout(timer);
  }
  const cfg = await client.call(Op.CONFIGURE, (w) =>
    wire.encodeConfigureRequest(w, { protocolVersion: PROTOCOL_VERSION, clientVersion: '', configJson: Buffer.from('{}'), secrets: [] }),
  );
  if (cfg.status !== Status.OK) throw new Error(`CONFIGURE failed: ${cfg.status}`);
  return { child, client };
}

/** A sidecar of its own driven by the cheapest client: PING, which the sidecar answers without work. */
export interface RawFloor {
  pid: number;
  /** One PING; true when the sidecar answered OK. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

export async function startRawFloor(binary: string): Promise<RawFloor> {
  const { child, client } = await connect(binary);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    pid: child.pid!,
    ping: async () => (await client.call(Op.PING)).status === Status.OK,
    close: async () => {
      child.stdin!.end();
      const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(kill);
    },
  };
}

async function main(): Promise<void> {
  const binary = process.argv[2] ?? `${__dirname}/../../../sidecar/bin/${process.platform}-${process.arch}/xems-sidecar`;
  const durationMs = Number(process.argv[3] ?? 3000);
  const mode = process.argv[4] === 'get' || process.argv[4] === 'ping' ? process.argv[4] : 'rotate';
  const { child, client } = await connect(binary);

  const data = Buffer.from(JSON.stringify({ d: 'x'.repeat(VALUE_BYTES - 8) }));
  for (const depth of MICRO_DEPTHS) {
    const tokens: string[] = [];
    const keys: Buffer[] = [];
    for (let i = 0; i < depth; i++) {
      const r = await client.call(Op.S_CREATE, (w) =>
        wire.encodeSCreateRequest(w, { sandbox: SANDBOX, data, ttlMs: 3_600_000, idleMs: 0, userId: '', meta: Buffer.alloc(0) }),
      );
      tokens.push(wire.decodeSCreateReply(r.body).token);
      keys.push(Buffer.from(`key:${i}`));
      await client.call(Op.KV_SET, (w) => wire.encodeKVSetRequest(w, { sandbox: SANDBOX, key: keys[i], value: data, ttlMs: 3_600_000 }));
    }
    let stop = false;
    let measuring = false;
    let ops = 0;
    const lat = new Samples();
    const worker = async (i: number): Promise<void> => {
      while (!stop) {
        const t = performance.now();
        if (mode === 'ping') {
          const r = await client.call(Op.PING);
          if (r.status !== Status.OK) throw new Error(`PING status ${r.status}`);
        } else if (mode === 'get') {
          const r = await client.call(Op.KV_GET, (w) => wire.encodeKVGetRequest(w, { sandbox: SANDBOX, key: keys[i] }));
          if (r.status !== Status.OK) throw new Error(`KV_GET status ${r.status}`);
        } else {
          const r = await client.call(Op.S_RESOLVE, (w) =>
            wire.encodeSResolveRequest(w, {
              sandbox: SANDBOX,
              token: tokens[i],
              flags: ResolveFlags.ROTATE,
              graceMs: 2000,
              minRotateIntervalMs: 0,
            }),
          );
          if (r.status !== Status.OK) throw new Error(`S_RESOLVE status ${r.status}`);
          tokens[i] = wire.decodeSResolveReply(r.body).token;
        }
        if (measuring) {
          ops++;
          lat.push((performance.now() - t) * 1000);
        }
      }
    };
    const workers = Array.from({ length: depth }, (_, i) => worker(i));
    await new Promise((r) => setTimeout(r, 500));
    measuring = true;
    const cpu0 = process.cpuUsage();
    const side0 = cpuMicros(child.pid!);
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, durationMs));
    stop = true;
    const elapsed = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const side = cpuMicros(child.pid!) - side0;
    await Promise.all(workers);
    const p = percentiles(lat.values());
    console.log(
      `raw ${{ get: 'KV_GET', ping: 'PING', rotate: 'S_RESOLVE+rotate' }[mode]} @${String(depth).padEnd(3)} ${((ops * 1000) / elapsed).toFixed(0).padStart(7)} ops/s  p50 ${p.p50.toFixed(1)} µs  p99 ${p.p99.toFixed(1)} µs  ` +
        `node ${((cpu.user + cpu.system) / ops).toFixed(2)} µs/op  sidecar ${(side / ops).toFixed(2)} µs/op`,
    );
  }
  child.stdin!.end();
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
