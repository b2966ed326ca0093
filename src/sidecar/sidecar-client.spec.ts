import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { enc, fakeSidecarClient } from '../../test/support/fake-sidecar';
import {
  XemsOverloadedError,
  XemsProtocolError,
  XemsTimeoutError,
  XemsUnavailableError,
  XemsValidationError,
} from '../xems.errors';
import { RequestWriter } from './frame-codec';
import { ErrorCode, Op, PROTOCOL_VERSION, Status } from './protocol';
import { TIMEOUT_SWEEP_MS } from './sidecar-client';

const ping = () => new RequestWriter(Op.PING, 0).finish();

/** The sizes of the chunks written to `stdin` from now on, one entry per write call. */
function recordWrites(stdin: { write(chunk: Buffer): boolean }): number[] {
  const writes: number[] = [];
  const write = stdin.write.bind(stdin);
  stdin.write = (chunk: Buffer) => (writes.push(chunk.length), write(chunk));
  return writes;
}

describe('SidecarClient handshake', () => {
  it('resolves hello with the build version', async () => {
    const { fake, client } = fakeSidecarClient();
    fake.hello(PROTOCOL_VERSION, 'v-test');
    assert.deepEqual(await client.hello, { protocolVersion: PROTOCOL_VERSION, buildVersion: 'v-test' });
  });

  it('refuses another protocol version, naming both, and closes', async () => {
    const { fake, client } = fakeSidecarClient();
    fake.hello(PROTOCOL_VERSION + 1, 'future');
    await assert.rejects(client.hello, (err: unknown) => {
      assert.ok(err instanceof XemsProtocolError);
      assert.match(err.message, new RegExp(`protocol version ${PROTOCOL_VERSION + 1}`));
      assert.match(err.message, new RegExp(`version ${PROTOCOL_VERSION}\\b`));
      return true;
    });
    assert.equal(client.isClosed, true);
  });

  it('rejects hello when the stream ends first', async () => {
    const { fake, client } = fakeSidecarClient();
    fake.stdout.end();
    await assert.rejects(client.hello, XemsUnavailableError);
  });

  it('treats a reply before HELLO as a protocol error', async () => {
    const { fake, client } = fakeSidecarClient();
    fake.reply(1, Status.OK);
    await assert.rejects(client.hello, /before sending HELLO/);
  });
});

describe('SidecarClient requests', () => {
  it('pipelines requests with distinct ids and matches out-of-order replies', async () => {
    const { fake, client } = fakeSidecarClient();
    fake.hello();
    await client.hello;
    const calls = [0, 1, 2, 3, 4].map((n) => client.request(Op.KV_HAS, new RequestWriter(Op.KV_HAS).u8(n).finish()));
    await fake.waitForRequests(5);
    const ids = fake.requests.map((r) => r.id);
    assert.equal(new Set(ids).size, 5);
    assert.ok(!ids.includes(0), 'id 0 is reserved');
    // Answer in reverse order; each reply carries the request's own marker byte back.
    for (const req of [...fake.requests].reverse()) fake.reply(req.id, Status.OK, enc.u8(req.body[0]));
    const replies = await Promise.all(calls);
    assert.deepEqual(replies.map((r) => r.body.u8()), [0, 1, 2, 3, 4]);
  });

  it('maps ERROR replies to typed errors and keeps NOT_FOUND / REUSED as statuses', async () => {
    const { fake, client } = fakeSidecarClient();
    fake.hello();
    const err = client.request(Op.KV_SET, ping());
    const nf = client.request(Op.KV_GET, ping());
    await fake.waitForRequests(2);
    fake.replyError(fake.requests[0].id, 5, 'value is 70000 bytes');
    fake.reply(fake.requests[1].id, Status.NOT_FOUND);
    await assert.rejects(err, (e: unknown) => e instanceof XemsValidationError && e.code === 'VALUE_TOO_LARGE' && /KV_SET/.test(e.message));
    assert.equal((await nf).status, Status.NOT_FOUND);
  });

  it('send() resolves with what its decoder makes of the reply as it is read; a decoder that throws rejects its own call only', async () => {
    const { fake, client } = fakeSidecarClient();
    fake.hello();
    const decoded = client.send(Op.KV_HAS, ping(), (status, body) => ({ status, byte: body.u8() }));
    const broken = client.send(Op.KV_HAS, ping(), (_status, body) => body.u32()); // the body holds one byte
    const erroring = client.send(Op.KV_SET, ping(), () => assert.fail('an ERROR reply never reaches the decoder'));
    await fake.waitForRequests(3);
    fake.reply(fake.requests[0].id, Status.OK, enc.u8(7));
    fake.reply(fake.requests[1].id, Status.OK, enc.u8(7));
    fake.replyError(fake.requests[2].id, 5, 'too large');
    assert.deepEqual(await decoded, { status: Status.OK, byte: 7 });
    await assert.rejects(broken, (e: unknown) => e instanceof XemsProtocolError && /truncated/.test(e.message));
    await assert.rejects(erroring, XemsValidationError);
    assert.equal(client.isClosed, false, 'a reply one decoder cannot read leaves the stream open');
    const next = client.request(Op.PING, ping());
    await fake.waitForRequests(4);
    fake.reply(fake.requests[3].id, Status.OK);
    assert.equal((await next).status, Status.OK);
  });

  it('times out one call with XemsTimeoutError and drops its late reply', async () => {
    const { fake, client } = fakeSidecarClient({ requestTimeoutMs: 30 });
    fake.hello();
    const slow = client.request(Op.PING, ping());
    await assert.rejects(slow, XemsTimeoutError);
    assert.equal(client.inFlight, 0);
    fake.reply(fake.requests[0].id, Status.OK); // late: must be ignored, not crash
    const next = client.request(Op.PING, ping());
    await fake.waitForRequests(2);
    fake.reply(fake.requests[1].id, Status.OK);
    assert.equal((await next).status, Status.OK);
    assert.equal(client.isClosed, false);
  });

  it('stamps every request with its deadline: the wall clock plus the call\'s own timeout', async () => {
    const { fake, client } = fakeSidecarClient({ requestTimeoutMs: 1000 });
    fake.hello();
    const before = Date.now();
    const a = client.request(Op.PING, ping());
    const b = client.request(Op.PING, ping(), 250);
    const after = Date.now();
    await fake.waitForRequests(2);
    const [ra, rb] = fake.requests;
    assert.ok(ra.deadline >= before + 1000 && ra.deadline <= after + 1000, `deadline ${ra.deadline - before} ms ahead`);
    assert.ok(rb.deadline >= before + 250 && rb.deadline <= after + 250, `deadline ${rb.deadline - before} ms ahead`);
    for (const r of fake.requests) fake.reply(r.id, Status.OK);
    await Promise.all([a, b]);
  });

  it('maps DEADLINE_EXCEEDED (dropped unapplied by the sidecar) to XemsTimeoutError with the call\'s timeout', async () => {
    const { fake, client } = fakeSidecarClient({ requestTimeoutMs: 1000 });
    fake.hello();
    const call = client.request(Op.S_RESOLVE, ping(), 750);
    await fake.waitForRequests(1);
    fake.replyError(fake.requests[0].id, ErrorCode.DEADLINE_EXCEEDED, 'S_RESOLVE: the client\'s deadline passed 3 ms before the request was dispatched');
    await assert.rejects(call, (e: unknown) => e instanceof XemsTimeoutError && e.code === 'TIMEOUT' && /S_RESOLVE within 750 ms/.test(e.message));
  });

  it('fails fast with XemsOverloadedError beyond maxInFlight', async () => {
    const { fake, client } = fakeSidecarClient({ maxInFlight: 2 });
    fake.hello();
    const a = client.request(Op.PING, ping());
    const b = client.request(Op.PING, ping());
    await assert.rejects(client.request(Op.PING, ping()), XemsOverloadedError);
    await fake.waitForRequests(2);
    assert.equal(fake.requests.length, 2, 'the refused call was never written');
    for (const r of fake.requests) fake.reply(r.id, Status.OK);
    await Promise.all([a, b]);
    // Capacity is back once replies arrive.
    const c = client.request(Op.PING, ping());
    await fake.waitForRequests(3);
    fake.reply(fake.requests[2].id, Status.OK);
    await c;
  });

  it('reports busy when the first call starts and idle at the end of the turn in which the last settles', async () => {
    const { fake, client, busy } = fakeSidecarClient();
    fake.hello();
    const a = client.request(Op.PING, ping());
    const b = client.request(Op.PING, ping());
    await fake.waitForRequests(2);
    assert.deepEqual(busy, [true]);
    fake.reply(fake.requests[0].id, Status.OK);
    await a;
    assert.deepEqual(busy, [true]);
    fake.reply(fake.requests[1].id, Status.OK);
    await b;
    await new Promise(setImmediate);
    assert.deepEqual(busy, [true, false]);
  });

  it('does not flip to idle and back when the next call starts in the turn the last one settled (a loop of calls)', async () => {
    const { fake, client, busy } = fakeSidecarClient();
    fake.hello();
    for (let i = 0; i < 5; i++) {
      const call = client.request(Op.PING, ping());
      await fake.waitForRequests(i + 1);
      fake.reply(fake.requests[i].id, Status.OK);
      await call; // the next call starts in this turn's microtasks
    }
    assert.deepEqual(busy, [true], 'busy throughout');
    await new Promise(setImmediate);
    assert.deepEqual(busy, [true, false]);
    assert.equal(client.inFlight, 0);
  });
});

describe('SidecarClient timeouts and write batching', () => {
  it('times each call out after its own timeout, within one sweep interval', async () => {
    const { fake, client } = fakeSidecarClient({ requestTimeoutMs: 1000 });
    fake.hello();
    await client.hello;
    const started = performance.now();
    const short = client.request(Op.PING, ping(), 50);
    const long = client.request(Op.PING, ping(), 400);
    const shortDone = short.then(
      () => assert.fail('resolved'),
      (e: unknown) => (assert.ok(e instanceof XemsTimeoutError), performance.now() - started),
    );
    const shortMs = await shortDone;
    assert.ok(shortMs >= 49 && shortMs < 50 + TIMEOUT_SWEEP_MS + 150, `short call timed out after ${shortMs} ms`);
    assert.equal(client.inFlight, 1, 'the longer call is still waiting');
    await assert.rejects(long, XemsTimeoutError);
    const longMs = performance.now() - started;
    assert.ok(longMs >= 399 && longMs < 400 + TIMEOUT_SWEEP_MS + 150, `long call timed out after ${longMs} ms`);
    assert.equal(client.inFlight, 0);
  });

  it('answered calls never time out and the sweep timer stops when idle', async () => {
    const { fake, client } = fakeSidecarClient({ requestTimeoutMs: 60 });
    fake.hello();
    await client.hello;
    const call = client.request(Op.PING, ping());
    await fake.waitForRequests(1);
    fake.reply(fake.requests[0].id, Status.OK);
    assert.equal((await call).status, Status.OK);
    await new Promise((r) => setTimeout(r, 60 + 2 * TIMEOUT_SWEEP_MS + 50));
    assert.equal(client.isClosed, false);
    assert.equal((client as unknown as { sweepTimer?: unknown }).sweepTimer, undefined, 'no timer left running while idle');
  });

  it('writes the frames of separate callbacks of one event-loop turn in one write', async () => {
    const { fake, client } = fakeSidecarClient();
    fake.hello();
    await client.hello;
    const writes = recordWrites(fake.stdin);
    const frameLen = ping().length;
    // Two timer callbacks of the same turn stand for two HTTP requests read in one poll phase.
    const calls = await new Promise<Promise<unknown>[]>((resolve) => {
      const made: Promise<unknown>[] = [];
      setTimeout(() => made.push(client.request(Op.PING, ping())), 0);
      setTimeout(() => (made.push(client.request(Op.PING, ping())), resolve(made)), 0);
    });
    await fake.waitForRequests(2);
    assert.deepEqual(writes, [2 * frameLen]);
    for (const r of fake.requests) fake.reply(r.id, Status.OK);
    await Promise.all(calls);
  });

  it('writes the frames of one tick in one write, and later ticks separately', async () => {
    const { fake, client } = fakeSidecarClient();
    fake.hello();
    await client.hello;
    const writes = recordWrites(fake.stdin);
    const frameLen = ping().length;
    const burst = Array.from({ length: 10 }, () => client.request(Op.PING, ping()));
    assert.deepEqual(writes, [], 'nothing written before the tick ends');
    await fake.waitForRequests(10);
    assert.deepEqual(writes, [10 * frameLen]);
    const ids = new Set(fake.requests.map((r) => r.id));
    assert.equal(ids.size, 10, 'each frame kept its own id');
    for (const r of fake.requests) fake.reply(r.id, Status.OK);
    await Promise.all(burst);
    const one = client.request(Op.PING, ping());
    await fake.waitForRequests(11);
    assert.deepEqual(writes, [10 * frameLen, frameLen]);
    fake.reply(fake.requests[10].id, Status.OK);
    await one;
  });

  it('drops frames still queued when the client closes, failing their calls', async () => {
    const { fake, client } = fakeSidecarClient();
    fake.hello();
    await client.hello;
    const call = client.request(Op.PING, ping());
    client.close(new XemsUnavailableError('test close'));
    await assert.rejects(call, XemsUnavailableError);
    await new Promise((r) => setImmediate(r));
    assert.equal(fake.requests.length, 0, 'nothing written after close');
  });
});

describe('SidecarClient close path', () => {
  it('rejects every pending call at once with XemsUnavailableError when stdout ends', async () => {
    const { fake, client, busy } = fakeSidecarClient({ requestTimeoutMs: 60_000 });
    fake.hello();
    await client.hello;
    const calls = Array.from({ length: 20 }, () => client.request(Op.PING, ping()));
    await fake.waitForRequests(20);
    const started = Date.now();
    fake.stdout.end();
    const results = await Promise.allSettled(calls);
    assert.ok(Date.now() - started < 1000, 'rejected at once, not after the 60 s timeout');
    for (const r of results) {
      assert.equal(r.status, 'rejected');
      assert.ok((r as PromiseRejectedResult).reason instanceof XemsUnavailableError);
    }
    assert.equal(client.inFlight, 0);
    assert.deepEqual(busy, [true, false]);
    assert.ok((await client.closed) instanceof XemsUnavailableError);
    await assert.rejects(client.request(Op.PING, ping()), XemsUnavailableError);
  });

  it('closes on a pipe error and on a corrupt frame', async () => {
    const first = fakeSidecarClient();
    first.fake.hello();
    const pending = first.client.request(Op.PING, ping());
    first.fake.stdin.destroy(new Error('EPIPE'));
    await assert.rejects(pending, XemsUnavailableError);

    const second = fakeSidecarClient();
    second.fake.hello();
    const call = second.client.request(Op.PING, ping());
    const bogus = Buffer.alloc(4);
    bogus.writeUInt32LE(0xffffffff);
    second.fake.stdout.write(bogus);
    await assert.rejects(call, XemsUnavailableError);
    assert.ok((await second.client.closed) instanceof XemsProtocolError);
  });

  it('close() is idempotent and the first reason wins', async () => {
    const { client } = fakeSidecarClient();
    client.close(new XemsUnavailableError('first'));
    client.close(new XemsUnavailableError('second'));
    assert.match((await client.closed).message, /first/);
  });
});

describe('SidecarClient unsolicited frames and latency', () => {
  it('reports EXPIRED frames (id 0, kind 1) and keeps serving calls', async () => {
    const expired: Array<[string, string[]]> = [];
    const { fake, client } = fakeSidecarClient({ onExpired: (sandbox, ids) => expired.push([sandbox, ids]) });
    fake.hello();
    await client.hello;
    const call = client.request(Op.PING, ping());
    await fake.waitForRequests(1);
    fake.stdout.write(fake.frame(Buffer.concat([enc.u32(0), enc.u8(1), enc.str('sb'), enc.u32(2), enc.str('id1'), enc.str('id2')])));
    fake.reply(fake.requests[0].id, Status.OK);
    await call;
    assert.deepEqual(expired, [['sb', ['id1', 'id2']]]);
    assert.equal(client.isClosed, false);
  });

  it('reports ENDED frames (id 0, kind 2: sessions another instance ended) and keeps serving calls', async () => {
    const ended: Array<[string, number, string[]]> = [];
    const { fake, client } = fakeSidecarClient({ onEnded: (sandbox, reason, ids) => ended.push([sandbox, reason, ids]) });
    fake.hello();
    await client.hello;
    const call = client.request(Op.PING, ping());
    await fake.waitForRequests(1);
    fake.stdout.write(fake.frame(Buffer.concat([enc.u32(0), enc.u8(2), enc.str('sb'), enc.u8(3), enc.u32(1), enc.str('id1')])));
    fake.reply(fake.requests[0].id, Status.OK);
    await call;
    assert.deepEqual(ended, [['sb', 3, ['id1']]]);
    assert.equal(client.isClosed, false);
  });

  it('an EXPIRED frame before HELLO is a protocol error', async () => {
    const { fake, client } = fakeSidecarClient();
    fake.stdout.write(fake.frame(Buffer.concat([enc.u32(0), enc.u8(1), enc.str('sb'), enc.u32(0)])));
    assert.ok((await client.closed) instanceof XemsProtocolError);
  });

  it('measures the round trip of every answered call', async () => {
    const latencies: number[] = [];
    const { fake, client } = fakeSidecarClient({ onLatency: (ms) => latencies.push(ms) });
    fake.hello();
    const call = client.request(Op.PING, ping());
    await fake.waitForRequests(1);
    await new Promise((r) => setTimeout(r, 20));
    fake.reply(fake.requests[0].id, Status.OK);
    await call;
    assert.equal(latencies.length, 1);
    assert.ok(latencies[0] >= 15 && latencies[0] < 1000, `latency ${latencies[0]}`);
  });
});
