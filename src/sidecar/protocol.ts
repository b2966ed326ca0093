import {
  XemsConfigError,
  XemsError,
  XemsProtocolError,
  XemsSessionLimitError,
  XemsSidecarError,
  XemsDeviceProofError,
  XemsTimeoutError,
  XemsUnavailableError,
  XemsValidationError,
  XemsVaultError,
  MISMATCHED_SIDECAR_HINT,
} from '../xems.errors';
import { BodyReader } from './frame-codec';
import { ERROR_NAMES, OP_NAMES, Op, decodeErrorReply } from './stdio-protocol.gen';

// The constants of docs/protocol.md are generated from scripts/protocol-table.js; this file
// adds what the client does with them (names, the errors replies become).
export { ErrorCode, FrameKind, Op, PROTOCOL_VERSION, Status } from './stdio-protocol.gen';
export type { OpCode, StatusCode } from './stdio-protocol.gen';

export function opName(op: number): string {
  return OP_NAMES[op] ?? `op 0x${op.toString(16)}`;
}

/** One reply frame: the id's status and the undecoded body. */
export interface SidecarReply {
  status: number;
  body: BodyReader;
}

/**
 * Turns a reply (status OK, NOT_FOUND, REUSED or MISMATCH; ERROR replies are rejected before)
 * into a call's result, synchronously as it is read: `body` is valid during the call only.
 */
export type ReplyDecoder<T> = (status: number, body: BodyReader) => T;

/** The decoder that keeps the reply undecoded (its body stays readable: the chunk is never reused). */
export const asReply: ReplyDecoder<SidecarReply> = (status, body) => ({ status, body });

const VALIDATION_HINTS: Record<string, string> = {
  BAD_REQUEST: 'Check the arguments passed to XemsService.',
  INVALID_SANDBOX: 'Use a sandbox name of 1-64 characters from A-Z a-z 0-9 . _ : -',
  KEY_TOO_LARGE: 'Keys are limited to 1024 bytes; hash long keys first.',
  VALUE_TOO_LARGE: 'Values and session data are limited to 64 KiB of JSON; keep large data elsewhere and store a reference.',
  INVALID_TTL: 'Use a TTL between 1 ms and 5 days.',
  FRAME_TOO_LARGE: 'The request exceeds the sidecar frame limit (1 MiB); store smaller values.',
};

/**
 * Turns an ERROR reply into the matching XemsError subclass. `timeoutMs` is the call's timeout:
 * DEADLINE_EXCEEDED (the sidecar dropped the request, unapplied, because its deadline had
 * passed) is the same XemsTimeoutError as a call the client timed out itself.
 */
export function sidecarError(op: number, reader: BodyReader, timeoutMs = 0): XemsError {
  const { code, message } = decodeErrorReply(reader);
  const name = ERROR_NAMES[code] ?? `ERROR_${code}`;
  const text = `${opName(op)} refused by the xems sidecar: ${name}: ${message}`;
  if (name === 'DEADLINE_EXCEEDED') return new XemsTimeoutError(opName(op), timeoutMs);
  if (name in VALIDATION_HINTS) return new XemsValidationError(name, text, VALIDATION_HINTS[name]);
  if (name === 'SHUTTING_DOWN') return new XemsUnavailableError('it is shutting down');
  // The shared store (Redis) cannot answer now: the same 503 as a sidecar outage.
  if (name === 'UNAVAILABLE') return new XemsUnavailableError(`its store cannot answer ${opName(op)} (${message})`);
  // After start-up (the check was deferred: Redis was unreachable then), a mismatch refuses
  // every request: a 503 for the clients, never a 500; the sidecar logs it once.
  if ((name === 'STORE_WRONG_SECRET' || name === 'STORE_WRONG_IDENTITY') && op !== Op.CONFIGURE) {
    return new XemsUnavailableError(`this instance cannot read the shared store (${message})`);
  }
  if (name === 'STORE_WRONG_SECRET') return new XemsConfigError('persistence.secret', `differs from the one the other instances use: ${message}`, 'Give every instance of the deployment the same persistence.secret, or use another store.keyPrefix.');
  if (name === 'STORE_WRONG_IDENTITY') return new XemsConfigError('hardwareBinding', `differs from the one the other instances use: ${message}`, 'Give every instance of the deployment the same hardwareBinding { id }, or use another store.keyPrefix.');
  if (name === 'LIMIT_REACHED') return new XemsSessionLimitError(message);
  if (XemsDeviceProofError.isCode(name)) return new XemsDeviceProofError(name, message);
  const vaultKind = XemsVaultError.kindOf(name);
  if (vaultKind === 'write-failed') return new XemsVaultError(vaultKind, `${opName(op)} failed: ${message}`);
  if (vaultKind) return new XemsVaultError(vaultKind, `The xems vault cannot be opened: ${message}`);
  if (name === 'INTERNAL') {
    return new XemsSidecarError(name, text, 'This is a bug in the sidecar; its log line (XemsSidecar) has the details. Please report it.');
  }
  return new XemsProtocolError(name, text, MISMATCHED_SIDECAR_HINT);
}
