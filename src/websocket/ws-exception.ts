import { createRequire } from 'node:module';

const load = createRequire(__filename);

/**
 * A WsException, which Nest's WebSocket exception filter sends to the client as an
 * `exception` event (`{ status: 'error', message }`) instead of "Internal server error".
 * `@nestjs/websockets` is an optional peer dependency: it is loaded only here, only in a
 * WebSocket context, where the app has it (no type of it appears in this package's declarations).
 */
export function wsException(message: string): Error {
  const { WsException } = load('@nestjs/websockets') as { WsException: new (message: string) => Error };
  return new WsException(message);
}
