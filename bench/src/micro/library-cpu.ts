/**
 * The library's own Node CPU per `resolveSession(token, { rotate: true })` at 16 in flight, with
 * the pipe taken out: a diagnostic for A/B runs of library builds, not part of `npm run bench`.
 *   node build/micro/library-cpu.js [--rounds 7] [--ms 1000] [--processes 3] <dist dir> [<dist dir> ...]
 * Each build runs in a process of its own (its own Nest context and sidecar, started as usual);
 * then its client's queued frames are answered in process, on the next event-loop turn and in one
 * chunk (as the sidecar answers a batch), with canned S_RESOLVE replies: a new token each time and
 * 256 bytes of JSON data. So no system call, no wake-up and no sidecar work is measured, only the
 * library from XemsService down to the client's frame decoding, plus the canned replies' copy.
 * With several builds, one process per build is started `--processes` times, the builds taking
 * turns process by process, and each process measures `--rounds` rounds; the median per process
 * and per build is printed. Two builds in one process (`--same-process`, how issue 18's second
 * pass ran it) cost each other 1.5-2 µs per call (two heaps for one collector), which hid a
 * 0.3 µs difference between builds in the third pass.
 */
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import { median } from '../load/stats';
import type { XemsLib, XemsServiceApi } from './xems-context';

const DEPTH = 16;
const SANDBOX = 'bench.cpu';
const TOKENS = Array.from({ length: 256 }, () => randomBytes(52).toString('base64url'));
const DATA = Buffer.from(JSON.stringify({ w: 1, pad: 'v'.repeat(256 - 20) }));
const SESSION_ID = 'AAAAAAAAAAAAAAAAAAAAAA';

/** The parts of the library's client this diagnostic reaches into (private at compile time). */
interface ClientInternals {
  enqueue(frame: Buffer): void;
  onData(chunk: Buffer): void;
}

/** An S_RESOLVE OK reply frame (docs/protocol.md) for request id 0; the id is patched in per call. */
function cannedReply(token: string): Buffer {
  const parts: Buffer[] = [];
  const int = (bytes: number, v: number): void => {
    const b = Buffer.alloc(bytes);
    b.writeUIntLE(v, 0, Math.min(bytes, 6));
    parts.push(b);
  };
  const str = (s: string): void => {
    int(2, Buffer.byteLength(s));
    parts.push(Buffer.from(s));
  };
  int(4, 0); // id
  int(1, 0); // status OK
  str(token);
  int(1, 1); // rotated
  int(8, Date.now() + 3_600_000); // expiresAt
  str(SESSION_ID);
  int(4, DATA.length);
  parts.push(DATA);
  int(1, 0); // session flags
  int(1, 0); // mismatch
  str(''); // csrf token
  int(8, 0); // authAt
  int(4, 0); // auth methods
  const body = Buffer.concat(parts);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(body.length);
  return Buffer.concat([len, body]);
}

const CANNED = TOKENS.map(cannedReply);

interface Build {
  name: string;
  xems: XemsServiceApi;
  ctx: INestApplicationContext;
}

async function startBuild(dir: string): Promise<Build> {
  const req = createRequire(join(dir, 'index.js'));
  const lib = req('./index') as XemsLib;
  const ctx = await NestFactory.createApplicationContext(lib.XemsModule.forRoot({}), { logger: ['error'] });
  const { SidecarClient } = req('./sidecar/sidecar-client') as { SidecarClient: { prototype: ClientInternals } };
  const { SidecarProcess } = req('./sidecar/sidecar-process') as { SidecarProcess: new (...args: never[]) => unknown };
  const running = (ctx.get(SidecarProcess) as { running?: { client: ClientInternals } }).running;
  if (!running) throw new Error(`${dir}: no running sidecar client`);
  const client = running.client;
  // This client's frames are answered in process from now on; other clients are untouched.
  let queue: Buffer[] | undefined;
  let n = 0;
  const original = SidecarClient.prototype.enqueue;
  SidecarClient.prototype.enqueue = function (this: ClientInternals, frame: Buffer): void {
    if (this !== client) return original.call(this, frame);
    if (!queue) {
      queue = [];
      setImmediate(() => {
        const chunk = Buffer.concat(queue!);
        queue = undefined;
        client.onData(chunk);
      });
    }
    const reply = Buffer.from(CANNED[n++ % CANNED.length]);
    reply.writeUInt32LE(frame.readUInt32LE(4), 4); // the request's id
    queue.push(reply);
  };
  return { name: basename(dir), xems: ctx.get(lib.XemsService), ctx };
}

/** Node CPU µs per call while DEPTH loops resolve for `ms`. */
async function measure(xems: XemsServiceApi, ms: number): Promise<number> {
  let stop = false;
  let measuring = false;
  let calls = 0;
  const loop = async (): Promise<void> => {
    while (!stop) {
      const s = await xems.resolveSession(TOKENS[0], { sandbox: SANDBOX, rotate: true });
      if (!s?.rotated) throw new Error('the canned reply did not resolve');
      if (measuring) calls++;
    }
  };
  const loops = Array.from({ length: DEPTH }, loop);
  await new Promise((r) => setTimeout(r, 200));
  measuring = true;
  const cpu0 = process.cpuUsage();
  await new Promise((r) => setTimeout(r, ms));
  const cpu = process.cpuUsage(cpu0);
  stop = true;
  await Promise.all(loops);
  return (cpu.user + cpu.system) / calls;
}

/** Runs this script on one build in a child process; its median µs per call. */
function measureInChild(dir: string, rounds: number, ms: number): number {
  const child = spawnSync(process.execPath, [__filename, '--rounds', String(rounds), '--ms', String(ms), dir], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const m = / median ([\d.]+) µs\/call/.exec(child.stdout);
  if (child.status !== 0 || !m) throw new Error(`${dir}: the child process failed (${child.status}): ${child.stdout}`);
  return Number(m[1]);
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    options: { rounds: { type: 'string' }, ms: { type: 'string' }, processes: { type: 'string' }, 'same-process': { type: 'boolean' } },
    allowPositionals: true,
  });
  const rounds = Number(values.rounds ?? 7);
  const ms = Number(values.ms ?? 1000);
  const processes = Number(values.processes ?? 3);
  if (positionals.length === 0 || !(rounds > 0) || !(ms > 0) || !(processes > 0))
    throw new Error('usage: library-cpu.js [--rounds N] [--ms N] [--processes N] [--same-process] <dist dir> [...]');
  if (positionals.length > 1 && values['same-process'] !== true) {
    const results = positionals.map(() => [] as number[]);
    for (let p = 0; p < processes; p++)
      for (const [i, dir] of positionals.entries()) results[i].push(measureInChild(resolve(dir), rounds, ms));
    for (const [i, dir] of positionals.entries()) {
      console.log(
        `${basename(dir).padEnd(12)} median ${median(results[i]).toFixed(2)} µs/call  processes ${results[i].map((x) => x.toFixed(2)).join(' ')}`,
      );
    }
    return;
  }
  const builds: Build[] = [];
  for (const dir of positionals) builds.push(await startBuild(resolve(dir)));
  try {
    for (const b of builds) await measure(b.xems, 500); // JIT warm-up
    const results = builds.map(() => [] as number[]);
    for (let r = 0; r < rounds; r++) for (const [i, b] of builds.entries()) results[i].push(await measure(b.xems, ms));
    for (const [i, b] of builds.entries()) {
      console.log(
        `${b.name.padEnd(12)} median ${median(results[i]).toFixed(2)} µs/call  rounds ${results[i].map((x) => x.toFixed(2)).join(' ')}`,
      );
    }
  } finally {
    // The patched clients would answer SHUTDOWN themselves: the sidecars are killed with this process.
    process.exit(0);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
