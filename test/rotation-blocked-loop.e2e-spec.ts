import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { tokenGeneration } from '../src/session-ledger';
import type { SidecarProcess } from '../src/sidecar/sidecar-process';
import type { ReplyDecoder } from '../src/sidecar/protocol';
import { Op } from '../src/sidecar/stdio-protocol.gen';
import { TokenCookieJar } from './support/cookie-jar';
import { useFaultApp } from './support/fault-app';
import { busyWait } from './support/stalls';
import { STORE_KINDS, storeUnderTest } from './support/store-cases';
import { PLATFORMS, sleep } from './support/xems-test-app';

// Issue 12, "replies dropped after an event-loop block": the application's event loop is
// blocked (a long synchronous task) for longer than requestTimeout while the sidecar answers
// the guards' S_RESOLVE calls. The replies waiting in the pipe must settle those calls: the
// rotations happened, so the clients must get them (200 with the new token), not a 503.
// On Express and Fastify.

const REQUEST_TIMEOUT_MS = 1500;
const BLOCK_MS = 3 * REQUEST_TIMEOUT_MS;
const GRACE_MS = 300;
const CLIENTS = 20;

/**
 * Blocks the event loop for `ms` as soon as the frame of the `n`th S_RESOLVE from now has been
 * written to the sidecar (the client writes a turn's frames in its check phase; this block is
 * queued after that write), so the replies to the calls still pending arrive during the block.
 * Resolves when the block is over.
 */
function blockAfterResolves(sidecar: SidecarProcess, n: number, ms: number): Promise<void> {
  const original = sidecar.send;
  let seen = 0;
  return new Promise((resolve) => {
    sidecar.send = function <T>(this: SidecarProcess, op: number, frame: Buffer, decode: ReplyDecoder<T>): Promise<T> {
      const reply = original.call(this, op, frame, decode) as Promise<T>;
      if (op === Op.S_RESOLVE && ++seen === n) {
        sidecar.send = original;
        setImmediate(() => {
          busyWait(ms);
          resolve();
        });
      }
      return reply;
    };
  });
}

for (const platform of PLATFORMS)
  for (const kind of STORE_KINDS) {
    describe(`a blocked event loop loses no rotation (real sidecar, ${kind} store, ${platform})`, () => {
      const app = useFaultApp(() => storeUnderTest(kind), platform, { graceMs: GRACE_MS, requestTimeoutMs: REQUEST_TIMEOUT_MS });

      it(`${CLIENTS} requests whose replies arrive while the loop is blocked for 3 x requestTimeout: all 200 with the rotated token, then the clients keep working`, async () => {
        const { t, events } = app;
        const jars = await Promise.all(
          Array.from({ length: CLIENTS }, (_, i) => TokenCookieJar.login(t.server, `blocked-${kind}-${platform}-${i}`)),
        );
        const before = jars.map((j) => j.token);
        const blocked = blockAfterResolves(t.xems.sidecar, CLIENTS, BLOCK_MS);
        const started = performance.now();
        const responses = await Promise.all(jars.map((jar) => jar.get('/me', 'during the block')));
        await blocked;
        assert.ok(performance.now() - started >= BLOCK_MS, 'the loop was blocked while the requests were under way');
        assert.deepEqual(
          responses.map((r) => r.status),
          jars.map(() => 200),
          'no 503 for rotations that happened',
        );
        for (const [i, jar] of jars.entries()) {
          assert.equal(tokenGeneration(jar.token), tokenGeneration(before[i]) + 1, `client ${i} got its rotated token`);
        }

        await sleep(GRACE_MS + 700);
        const after = await Promise.all(jars.map((jar) => jar.get('/me', 'after')));
        assert.deepEqual(
          after.map((r) => r.status),
          jars.map(() => 200),
          'every client keeps working',
        );
        assert.deepEqual(
          events.filter((e) => e.type === 'session.reused'),
          [],
        );
      });
    });
  }
