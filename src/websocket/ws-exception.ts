import { createRequire } from 'node:module';
import type { WsException } from '@nestjs/websockets';

const load = createRequire(__filename);

/**
 * A WsException, which Nest's WebSocket exception filter sends to the client as an
 * `exception` event (`{ status: 'error', message }`) instead of "Internal server error".
 * `@nestjs/websockets` is an optional peer dependency: it is loaded only here, only in a
 * WebSocket context, where the app has it.
 */
export function wsException(message: string): WsException {
  const { WsException: Exception } = load('@nestjs/websockets') as typeof import('@nestjs/websockets');
  return new Exception(message);
}
