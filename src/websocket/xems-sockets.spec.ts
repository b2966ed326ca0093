import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { Subject } from 'rxjs';
import type { XemsPeekedSession } from '../session.types';
import { XemsSockets } from './xems-sockets';
import { socketStateOf } from './socket-session';

// XemsSockets' bookkeeping of held sessions, with fake sessions and ws-shaped sockets (the
// rules themselves are the sidecar's, covered end to end in test/websockets-rules).

class FakeWs extends EventEmitter {
  readyState = 1;
  closedWith?: number;
  send(): void {}
  close(code?: number): void {
    this.closedWith = code;
    this.readyState = 3;
    this.emit('close');
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const req = { headers: {} };
type PeekAnswer = XemsPeekedSession | 'device-proof-overdue' | null;

function session(extra: Partial<XemsPeekedSession> = {}): XemsPeekedSession {
  return { sandbox: 'sb', id: 'id-1', data: {}, rememberMe: false, expiresAt: Date.now() + 600_000, ...extra } as XemsPeekedSession;
}

function sockets(peek: () => Promise<PeekAnswer>, peekById: () => Promise<PeekAnswer>, options: object = {}) {
  const events$ = new Subject<unknown>();
  const transport = { read: () => ({ kind: 'token', token: 't', via: 'header' }) } as never;
  const s = new XemsSockets(
    { sandbox: 'sb', binding: { ip: 'off', userAgent: false }, cookie: false, deviceBound: false, ...options } as never,
    { peek, peekById } as never,
    transport,
    { events$ } as never,
  );
  const held = (s as unknown as { bySession: Map<string, { sockets: Set<object>; timer?: NodeJS.Timeout }> }).bySession;
  return { s, events$, held, stop: () => s.onModuleDestroy() };
}

describe('XemsSockets: held sessions and their re-check timer', () => {
  it('a socket joining a held session with a sooner device deadline brings the re-check forward: closed at the deadline', async () => {
    let handshakes = 0;
    let rechecks = 0;
    const { s, stop } = sockets(
      async () => (handshakes++ === 0 ? session() : session({ deviceBound: true, deviceProofDeadline: Date.now() + 200 })),
      async () => {
        rechecks++;
        return 'device-proof-overdue';
      },
    );
    const owner = new FakeWs();
    const thief = new FakeWs();
    await s.authenticate(owner, req); // before the device registered: no deadline
    await s.authenticate(thief, req); // after: deadline in 200 ms
    await sleep(1400); // the re-check waits at least MIN_RECHECK_MS
    stop();
    assert.equal(rechecks, 1);
    assert.equal(thief.closedWith, 4403);
    assert.equal(owner.closedWith, 4403);
  });

  it('a guarded message that finds a sooner deadline brings the re-check forward', async () => {
    let rechecks = 0;
    const { s, stop } = sockets(
      async () => session(),
      async () => {
        rechecks++;
        return 'device-proof-overdue';
      },
    );
    const c = new FakeWs();
    await s.authenticate(c, req);
    socketStateOf(c).onPeek?.(session({ deviceBound: true, deviceProofDeadline: Date.now() + 100 }));
    await sleep(1300);
    stop();
    assert.equal(rechecks, 1);
    assert.equal(c.closedWith, 4403);
  });

  it('with deviceBound on, a session not bound yet is re-checked within one proof lifetime (its device may register elsewhere)', async () => {
    let rechecks = 0;
    const { s, stop } = sockets(
      async () => session(),
      async () => {
        rechecks++;
        return session();
      },
      { deviceBound: { lifetime: 200 } },
    );
    await s.authenticate(new FakeWs(), req);
    await sleep(1300);
    stop();
    assert.equal(rechecks, 1);
  });

  it('a device refresh event re-checks the held session at once', async () => {
    let rechecks = 0;
    const { s, events$, stop } = sockets(
      async () => session(),
      async () => {
        rechecks++;
        return session();
      },
    );
    await s.authenticate(new FakeWs(), req);
    events$.next({ type: 'session.device-refreshed', sandbox: 'sb', sessionId: 'id-1' });
    await sleep(50);
    stop();
    assert.equal(rechecks, 1);
  });

  it('an end that arrives while the handshake peek is answered refuses the socket (checked again by id)', async () => {
    let release!: (v: PeekAnswer) => void;
    const { s, events$, stop } = sockets(
      () => new Promise<PeekAnswer>((r) => (release = r)),
      async () => null,
    );
    const c = new FakeWs();
    const pending = s.authenticate(c, req);
    events$.next({ type: 'session.revoked', sandbox: 'sb', sessionId: 'id-1', reason: 'logout' });
    release(session());
    assert.equal(await pending, null);
    stop();
    assert.equal(c.closedWith, 4401);
  });

  it('a socket closed during its handshake is not held (no timer left behind)', async () => {
    let release!: (v: PeekAnswer) => void;
    const { s, held, stop } = sockets(
      () => new Promise<PeekAnswer>((r) => (release = r)),
      async () => null,
    );
    const c = new FakeWs();
    const pending = s.authenticate(c, req);
    c.close(1000);
    release(session());
    await pending;
    assert.equal(held.size, 0);
    stop();
  });

  it('no timer is armed after onModuleDestroy, even by a re-check that was in flight', async () => {
    let release!: (v: PeekAnswer) => void;
    let calls = 0;
    const { s, held, stop } = sockets(
      async () => session({ expiresAt: Date.now() }),
      () => {
        calls++;
        return new Promise<PeekAnswer>((r) => (release = r));
      },
    );
    await s.authenticate(new FakeWs(), req);
    await sleep(1100); // MIN_RECHECK_MS
    assert.equal(calls, 1);
    stop();
    release(session({ expiresAt: Date.now() + 100 }));
    await sleep(10);
    assert.equal(held.size, 0);
  });
});
