import { type ExecutionContext, Logger } from '@nestjs/common';
import { isSidecarUnavailable } from '../xems.errors';
import type { XemsSessions } from '../xems.sessions';
import { tellEnded } from './socket-platform';
import { peekSocketState } from './socket-session';
import { wsException } from './ws-exception';

/**
 * SessionGuard on a gateway handler: the socket's session, found once at the handshake
 * (XemsSockets.authenticate), is checked by its public id: alive, not revoked and, when it is
 * device-bound, within its proof deadline (else the socket is closed: `device-proof-overdue`).
 * No token is presented, so nothing rotates and nothing can count as reuse however HTTP
 * requests of the same client rotate the cookie meanwhile. A message that arrives while the handshake is still
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
  if (current === null || current === 'device-proof-overdue') {
    state.session = undefined;
    // A device-bound session past its proof deadline is kept for its device, but this socket
    // is closed: one a thief opened while the owner was active must not outlive the deadline.
    // The owner's client reconnects, its handshake after the browser's DBSC refresh.
    const reason = current ?? 'ended';
    // After the exception filter has answered this message (it runs in this turn's microtasks).
    setImmediate(() => tellEnded(client, reason));
    throw wsException('Unauthorized');
  }
  state.session = current; // @Session() sees the data as it is now
  state.onPeek?.(current);
  return true;
}
