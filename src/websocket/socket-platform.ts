import type { IncomingMessage } from 'node:http';

/**
 * The two WebSocket platforms, told apart by shape (neither package is imported):
 * `@nestjs/platform-socket.io` hands gateways a socket.io `Socket` (it has `handshake` and
 * the upgrade `request`); `@nestjs/platform-ws` a `ws` WebSocket (a numeric `readyState`,
 * `send`, `close`) and passes the upgrade request to `handleConnection` beside it.
 */
interface SocketIoSocket {
  handshake: { auth?: unknown };
  request: IncomingMessage;
  emit(event: string, data: unknown): unknown;
  disconnect(close?: boolean): unknown;
  once(event: string, listener: () => void): unknown;
}

interface WsSocket {
  readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  once(event: string, listener: () => void): unknown;
}

/** A ws socket that is CONNECTING (0) or OPEN (1). */
const WS_OPEN = 1;

/** ws close codes: 4401 no session at the handshake, 4403 the session ended, 1013 try again later. */
export const WS_CLOSE = { unauthorized: 4401, ended: 4403, unavailable: 1013 } as const;

export function isSocketIo(client: object): client is SocketIoSocket {
  return 'handshake' in client && 'request' in client && typeof (client as SocketIoSocket).emit === 'function';
}

function isWs(client: object): client is WsSocket {
  return typeof (client as WsSocket).readyState === 'number' && typeof (client as WsSocket).send === 'function';
}

/** True for a socket of either platform. */
export function isKnownSocket(client: unknown): client is object {
  return typeof client === 'object' && client !== null && (isSocketIo(client) || isWs(client));
}

/** The HTTP upgrade request of the handshake: socket.io keeps it; ws hands it to handleConnection. */
export function upgradeRequest(client: object, request: unknown): IncomingMessage | undefined {
  if (isSocketIo(client)) return client.request;
  const req = request as IncomingMessage | undefined;
  return req && typeof req === 'object' && typeof req.headers === 'object' ? req : undefined;
}

/** socket.io's `handshake.auth.token`, if the client sent one (undefined on ws). */
export function authToken(client: object): unknown {
  if (!isSocketIo(client)) return undefined;
  const auth = client.handshake.auth;
  return auth && typeof auth === 'object' ? (auth as { token?: unknown }).token : undefined;
}

/** Sends one event in the platform's shape (ws: Nest's `{ event, data }` JSON message). */
export function sendEvent(client: object, event: string, data: unknown): void {
  if (isSocketIo(client)) client.emit(event, data);
  else if (isWs(client) && client.readyState === WS_OPEN) client.send(JSON.stringify({ event, data }));
}

/** Closes the socket (ws: with a close code; socket.io: the underlying connection too). */
export function closeSocket(client: object, wsCode: number, reason: string): void {
  if (isSocketIo(client)) client.disconnect(true);
  else if (isWs(client)) client.close(wsCode, reason);
}

/**
 * False once the socket is closing or closed (a client that left during its handshake): ws's
 * `readyState` past OPEN; socket.io's underlying engine.io connection no longer 'open' (during
 * a middleware the socket itself is not connected yet, so its own state cannot tell).
 */
export function isSocketOpen(client: object): boolean {
  if (isSocketIo(client)) {
    const state = (client as { conn?: { readyState?: unknown } }).conn?.readyState;
    return state === undefined || state === 'open' || state === 'opening';
  }
  return isWs(client) ? client.readyState <= WS_OPEN : true;
}

/** Calls `listener` once when the socket is gone. */
export function onSocketGone(client: object, listener: () => void): void {
  if (isSocketIo(client)) client.once('disconnect', listener);
  else if (isWs(client)) client.once('close', listener);
}

/** The event a socket receives when its session ends, then it is closed. */
export const XEMS_SESSION_ENDED_EVENT = 'xems:session-ended';

/** The event a socket receives when its handshake found no session, then it is closed. */
export const XEMS_UNAUTHORIZED_EVENT = 'xems:unauthorized';

/** Tells the socket its session ended (`{ reason }`) and closes it. */
export function tellEnded(client: object, reason: string): void {
  sendEvent(client, XEMS_SESSION_ENDED_EVENT, { reason });
  closeSocket(client, WS_CLOSE.ended, 'session ended');
}
