import { type ExecutionContext, Logger } from '@nestjs/common';
import { isSidecarUnavailable } from '../xems.errors';
import type { XemsSessions } from '../xems.sessions';
import { tellEnded } from './socket-platform';
import { peekSocketState } from './socket-session';
import { wsException } from './ws-exception';

/**
 * SessionGuard on a gateway handler: the socket's session, found once at the handshake
 * (XemsSockets.authenticate), is checked by its public id: alive and not revoked. No token is
 * presented, so nothing rotates and nothing can count as reuse however HTTP requests of the
 * same client rotate the cookie meanwhile. A message that arrives while the handshake is still
 * under way waits for it. Refusals reach the client as Nest's `exception` event: Unauthorized
 * (no session, another sandbox, or the session ended: the socket is then closed), Service
 * unavailable (the sidecar cannot answer).
 */
let warnedUnauthenticated = false;

export async function canActivateSocket(context: ExecutionContext, sandbox: string, sessions: XemsSessions): Promise<boolean> {
  const client = context.switchToWs().getClient<object>();
  const state = typeof client === 'object' && client !== null ? peekSocketState(client) : undefined;
  if (state?.pending) await state.pending;
  if (!state && !warnedUnauthenticated) {
    warnedUnauthenticated = true; // once per process: a setup mistake, not a client's
    new Logger('Xems').warn(
      "SessionGuard on a gateway handler met a socket that was never authenticated: call `this.sockets.authenticate(client, request)` (XemsSockets) in the gateway's handleConnection, or use XemsSockets.ioMiddleware() with socket.io. Its messages are refused.",
    );
  }
  const held = state?.session;
  if (!state || !held || held.sandbox !== sandbox) throw wsException('Unauthorized');
  let current;
  try {
    current = await sessions.peekById(sandbox, held.id);
  } catch (error) {
    if (isSidecarUnavailable(error)) throw wsException('Service unavailable');
    throw error;
  }
  if (!current) {
    state.session = undefined;
    // After the exception filter has answered this message (it runs in this turn's microtasks).
    setImmediate(() => tellEnded(client, 'ended'));
    throw wsException('Unauthorized');
  }
  state.session = current; // @Session() sees the data as it is now
  return true;
}
