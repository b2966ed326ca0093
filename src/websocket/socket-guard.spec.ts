import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { ExecutionContext } from '@nestjs/common';
import { WsException } from '@nestjs/websockets';
import type { XemsPeekedSession } from '../session.types';
import { selectSessionContext, selectSessionData } from '../session.decorator';
import { XemsUnavailableError, XemsValidationError } from '../xems.errors';
import type { XemsSessions } from '../xems.sessions';
import { canActivateSocket } from './socket-guard';
import { isKnownSocket, upgradeRequest } from './socket-platform';
import { socketStateOf } from './socket-session';
import { XemsSockets } from './xems-sockets';

/** A ws-like socket: readyState, send, close; records what it was sent. */
class FakeWs extends EventEmitter {
  readyState = 1;
  sent: unknown[] = [];
  closedWith?: number;
  send(data: string): void {
    this.sent.push(JSON.parse(data));
  }
  close(code?: number): void {
    this.closedWith = code;
    this.readyState = 3;
  }
}

const wsContext = (client: object): ExecutionContext =>
  ({ getType: () => 'ws', switchToWs: () => ({ getClient: () => client }) }) as unknown as ExecutionContext;

const session = (over: Partial<XemsPeekedSession> = {}): XemsPeekedSession => ({
  sandbox: 'sb',
  id: 'id-1',
  data: { user: 'ann' },
  expiresAt: 1,
  rememberMe: false,
  sliding: false,
  ...over,
});

function sessions(answer: XemsPeekedSession | 'device-proof-overdue' | null | Error): XemsSessions & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    peekById: async (sandbox: string, id: string) => {
      asked.push(`${sandbox}/${id}`);
      if (answer instanceof Error) throw answer;
      return answer;
    },
  } as unknown as XemsSessions & { asked: string[] };
}

describe('SessionGuard in a WebSocket context (canActivateSocket)', () => {
  it('checks the held session by id, refreshes its data for @Session(), and never sends a token', async () => {
    const client = new FakeWs();
    socketStateOf(client).session = session();
    const s = sessions(session({ data: { user: 'ann', n: 2 } }));
    assert.equal(await canActivateSocket(wsContext(client), 'sb', s), true);
    assert.deepEqual(s.asked, ['sb/id-1']);
    assert.deepEqual(selectSessionData(undefined, wsContext(client)), { user: 'ann', n: 2 });
    assert.equal(selectSessionData('user', wsContext(client)), 'ann');
    assert.deepEqual(selectSessionContext(undefined, wsContext(client)), {
      id: 'id-1',
      sandbox: 'sb',
      expiresAt: 1,
      rotated: false,
      rememberMe: false,
      deviceBound: false,
    });
  });

  const refusals: Array<[string, () => { client: FakeWs; sandbox: string; s: ReturnType<typeof sessions> }, string]> = [
    ['no handshake', () => ({ client: new FakeWs(), sandbox: 'sb', s: sessions(session()) }), 'Unauthorized'],
    [
      'another sandbox',
      () => {
        const client = new FakeWs();
        socketStateOf(client).session = session();
        return { client, sandbox: 'admin', s: sessions(session()) };
      },
      'Unauthorized',
    ],
    [
      'sidecar down',
      () => {
        const client = new FakeWs();
        socketStateOf(client).session = session();
        return { client, sandbox: 'sb', s: sessions(new XemsUnavailableError('test')) };
      },
      'Service unavailable',
    ],
  ];
  for (const [name, make, message] of refusals) {
    it(`refuses with a WsException: ${name}`, async () => {
      const { client, sandbox, s } = make();
      await assert.rejects(
        canActivateSocket(wsContext(client), sandbox, s),
        (e: unknown) => e instanceof WsException && e.message === message,
      );
      assert.equal(client.closedWith, undefined, 'the socket stays open');
    });
  }

  for (const [answer, reason] of [
    [null, 'ended'],
    ['device-proof-overdue', 'device-proof-overdue'],
  ] as const) {
    it(`a session ${answer ?? 'gone'} by id: refused, then told (${reason}) and closed (4403)`, async () => {
      const client = new FakeWs();
      socketStateOf(client).session = session();
      await assert.rejects(canActivateSocket(wsContext(client), 'sb', sessions(answer)), WsException);
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(client.sent, [{ event: 'xems:session-ended', data: { reason } }]);
      assert.equal(client.closedWith, 4403);
      assert.equal(selectSessionData(undefined, wsContext(client)), undefined);
    });
  }

  it('waits for a handshake under way', async () => {
    const client = new FakeWs();
    const state = socketStateOf(client);
    state.pending = new Promise((resolve) =>
      setTimeout(() => {
        state.session = session();
        resolve(state.session);
      }, 10),
    );
    assert.equal(await canActivateSocket(wsContext(client), 'sb', sessions(session())), true);
  });
});

describe('socket platforms', () => {
  it('tells socket.io and ws sockets from anything else, and finds the upgrade request', () => {
    const req = { headers: { cookie: 'a=b' } };
    const io = Object.assign(new EventEmitter(), { handshake: { auth: {} }, request: req, disconnect: () => undefined });
    assert.equal(isKnownSocket(io), true);
    assert.equal(isKnownSocket(new FakeWs()), true);
    for (const other of [null, undefined, 'x', {}, { send: () => undefined }]) assert.equal(isKnownSocket(other), false);
    assert.equal(upgradeRequest(io, undefined), req);
    assert.equal(upgradeRequest(new FakeWs(), req), req);
    assert.equal(upgradeRequest(new FakeWs(), 'nope'), undefined);
  });
});

describe('XemsSockets.authenticate', () => {
  it('refuses what is not a socket with an XemsValidationError naming the fix', () => {
    const sockets = new XemsSockets({} as never, {} as never, {} as never, { events$: { subscribe: () => ({}) } } as never);
    for (const bad of [undefined, {}, 'socket']) {
      assert.throws(
        () => sockets.authenticate(bad),
        (e: unknown) => e instanceof XemsValidationError && /handleConnection/.test(e.message),
      );
    }
  });
});
