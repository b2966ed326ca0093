import type { XemsPeekedSession, XemsSessionContext } from '../session.types';

/** What the module keeps on a socket (under a symbol): the session its handshake found, held by id. */
export interface XemsSocketState {
  /** The session the socket holds; undefined before the handshake completes, or once it ended. */
  session?: XemsPeekedSession;
  /** The handshake under way (messages that arrive meanwhile wait for it). */
  pending?: Promise<XemsPeekedSession | null>;
  /** Told each session a guarded message's check found (XemsSockets brings its re-check forward). */
  onPeek?: (session: XemsPeekedSession) => void;
}

const SOCKET_STATE = Symbol('xems.socket');

/** The module's state of a socket, if the module has touched it. */
export function peekSocketState(client: object): XemsSocketState | undefined {
  return (client as Record<symbol, XemsSocketState | undefined>)[SOCKET_STATE];
}

/** The state of a socket, created on first use. */
export function socketStateOf(client: object): XemsSocketState {
  const holder = client as Record<symbol, XemsSocketState | undefined>;
  return (holder[SOCKET_STATE] ??= {});
}

/** The session a socket holds (after XemsSockets.authenticate), or undefined. */
export function socketSessionOf(client: object): XemsPeekedSession | undefined {
  return peekSocketState(client)?.session;
}

/** The socket's session without its data: a socket never rotates a token, so `rotated` is false. */
export function describeSocketSession(client: object): XemsSessionContext | undefined {
  const session = socketSessionOf(client);
  if (!session) return undefined;
  return {
    id: session.id,
    sandbox: session.sandbox,
    expiresAt: session.expiresAt,
    rotated: false,
    rememberMe: session.rememberMe,
    deviceBound: session.deviceBound === true,
  };
}
