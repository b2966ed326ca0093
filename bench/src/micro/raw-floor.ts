/**
 * Diagnostic, not part of `npm run bench`: the floor of the Node <-> sidecar path without the
 * library. Speaks docs/protocol.md directly with the cheapest client we could write (frames
 * written once per event-loop turn, no timers, no JSON), so the micro-benchmark's numbers can be
 * split into "the sidecar and the pipe" and "the library's client". Usage:
 *   node build/micro/raw-floor.js [binary] [durationMs] [rotate|get|ping]
 * `ping` sends PING (no work in the sidecar): the round trip of the pipe and the wake-ups alone.
 */
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { MICRO_DEPTHS, VALUE_BYTES } from '../config';
import { cpuMicros } from '../infra/proc';
import { percentiles, Samples } from '../load/stats';

const OP_CONFIGURE = 0x01;
const OP_PING = 0x02;
const OP_KV_SET = 0x10;
const OP_KV_GET = 0x11;
const OP_S_CREATE = 0x20;
const OP_S_RESOLVE = 0x21;
const SANDBOX = Buffer.from('bench.raw');

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
  str(b: Buffer): this {
    this.u16(b.length);
    b.copy(this.buf, this.n);
    this.n += b.length;
    return this;
  }
  bytes(b: Buffer): this {
    this.u32(b.length);
    b.copy(this.buf, this.n);
    this.n += b.length;
    return this;
  }
  frame(): Buffer {
    this.buf.writeUInt32LE(this.n - 4, 0);
    return this.buf.subarray(0, this.n);
  }
}

class RawClient {
  private readonly pending = new Map<number, (status: number, body: Buffer) => void>();
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
      const id = payload.readUInt32LE(0);
      if (id === 0) {
        this.onHello();
        continue;
      }
      const cb = this.pending.get(id);
      this.pending.delete(id);
      cb?.(payload[4], payload.subarray(5));
    }
    this.inbuf = this.inbuf.subarray(off);
  }

  call(op: number, fill: (w: Writer) => Writer): Promise<{ status: number; body: Buffer }> {
    const id = this.nextId++;
    const frame = fill(new Writer().u32(id).u8(op)).frame();
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

function readStr(b: Buffer, off: number): [string, number] {
  const len = b.readUInt16LE(off);
  return [b.toString('latin1', off + 2, off + 2 + len), off + 2 + len];
}

async function main(): Promise<void> {
  const binary = process.argv[2] ?? `${__dirname}/../../../sidecar/bin/${process.platform}-${process.arch}/xems-sidecar`;
  const durationMs = Number(process.argv[3] ?? 3000);
  const mode = process.argv[4] === 'get' || process.argv[4] === 'ping' ? process.argv[4] : 'rotate';
  const child = spawn(binary, [], { stdio: ['pipe', 'pipe', 'inherit'] });
  const client = new RawClient(child);
  await client.hello;
  const cfg = await client.call(OP_CONFIGURE, (w) => w.u16(1).bytes(Buffer.from('{}')).u16(0));
  if (cfg.status !== 0) throw new Error(`CONFIGURE failed: ${cfg.status}`);

  const data = Buffer.from(JSON.stringify({ d: 'x'.repeat(VALUE_BYTES - 8) }));
  for (const depth of MICRO_DEPTHS) {
    const tokens: Buffer[] = [];
    const keys: Buffer[] = [];
    for (let i = 0; i < depth; i++) {
      const r = await client.call(OP_S_CREATE, (w) => w.str(SANDBOX).bytes(data).u64(3_600_000).u64(0).str(Buffer.alloc(0)).bytes(Buffer.alloc(0)));
      tokens.push(Buffer.from(readStr(r.body, 0)[0], 'latin1'));
      keys.push(Buffer.from(`key:${i}`));
      await client.call(OP_KV_SET, (w) => w.str(SANDBOX).bytes(keys[i]).bytes(data).u64(3_600_000));
    }
    let stop = false;
    let measuring = false;
    let ops = 0;
    const lat = new Samples();
    const worker = async (i: number): Promise<void> => {
      while (!stop) {
        const t = performance.now();
        if (mode === 'ping') {
          const r = await client.call(OP_PING, (w) => w);
          if (r.status !== 0) throw new Error(`PING status ${r.status}`);
        } else if (mode === 'get') {
          const r = await client.call(OP_KV_GET, (w) => w.str(SANDBOX).bytes(keys[i]));
          if (r.status !== 0) throw new Error(`KV_GET status ${r.status}`);
        } else {
          const r = await client.call(OP_S_RESOLVE, (w) => w.str(SANDBOX).str(tokens[i]).u8(1).u64(2000).u64(0));
          if (r.status !== 0) throw new Error(`S_RESOLVE status ${r.status}`);
          tokens[i] = Buffer.from(readStr(r.body, 0)[0], 'latin1');
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

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
