import {
  XemsConfigError,
  XemsError,
  XemsProtocolError,
  XemsSessionLimitError,
  XemsSidecarError,
  XemsUnavailableError,
  XemsValidationError,
  XemsVaultError,
} from '../xems.errors';
import { BodyReader } from './frame-codec';

/** Constants of docs/protocol.md (version 1). */
export const PROTOCOL_VERSION = 1;

export const Op = {
  CONFIGURE: 0x01,
  PING: 0x02,
  SHUTDOWN: 0x03,
  STATS: 0x04,
  KV_SET: 0x10,
  KV_GET: 0x11,
  KV_DEL: 0x12,
  KV_HAS: 0x13,
  KV_TTL: 0x14,
  KV_TOUCH: 0x15,
  KV_SCAN: 0x16,
  CLEAR: 0x17,
  S_CREATE: 0x20,
  S_RESOLVE: 0x21,
  S_UPDATE: 0x22,
  S_REVOKE: 0x23,
  S_LIST: 0x24,
  S_REVOKE_ALL: 0x25,
  S_REVOKE_ID: 0x26,
  S_REGENERATE: 0x27,
} as const;

export type OpCode = (typeof Op)[keyof typeof Op];

const OP_NAMES = new Map<number, string>(Object.entries(Op).map(([name, code]) => [code, name]));

export function opName(op: number): string {
  return OP_NAMES.get(op) ?? `op 0x${op.toString(16)}`;
}

export const Status = { OK: 0, NOT_FOUND: 1, ERROR: 2, REUSED: 3, MISMATCH: 4 } as const;
export type StatusCode = (typeof Status)[keyof typeof Status];

/** Kinds of sidecar-initiated frames (id 0). */
export const SidecarFrame = { HELLO: 0, EXPIRED: 1 } as const;

export const ErrorCode = {
  BAD_REQUEST: 1,
  UNKNOWN_OP: 2,
  INVALID_SANDBOX: 3,
  KEY_TOO_LARGE: 4,
  VALUE_TOO_LARGE: 5,
  INVALID_TTL: 6,
  FRAME_TOO_LARGE: 7,
  NOT_CONFIGURED: 8,
  SHUTTING_DOWN: 9,
  VERSION_MISMATCH: 10,
  INTERNAL: 11,
  LIMIT_REACHED: 12,
  VAULT_WRONG_SECRET: 20,
  VAULT_WRONG_MACHINE: 21,
  VAULT_CORRUPT: 22,
  VAULT_LOCKED: 23,
  VAULT_IO: 24,
  PERSIST_FAILED: 25,
  UNAVAILABLE: 30,
  STORE_WRONG_SECRET: 31,
  STORE_WRONG_IDENTITY: 32,
} as const;

const ERROR_NAMES = new Map<number, string>(Object.entries(ErrorCode).map(([name, code]) => [code, name]));

/** One reply frame: the id's status and the undecoded body. */
export interface SidecarReply {
  status: number;
  body: BodyReader;
}

const VALIDATION_HINTS: Record<string, string> = {
  BAD_REQUEST: 'Check the arguments passed to XemsService.',
  INVALID_SANDBOX: 'Use a sandbox name of 1-64 characters from A-Z a-z 0-9 . _ : -',
  KEY_TOO_LARGE: 'Keys are limited to 1024 bytes; hash long keys first.',
  VALUE_TOO_LARGE: 'Values and session data are limited to 64 KiB of JSON; keep large data elsewhere and store a reference.',
  INVALID_TTL: 'Use a TTL between 1 ms and 5 days.',
  FRAME_TOO_LARGE: 'The request exceeds the sidecar frame limit (1 MiB); store smaller values.',
};

/** Turns an ERROR reply into the matching XemsError subclass. */
export function sidecarError(op: number, reader: BodyReader): XemsError {
  const code = reader.u16();
  const message = reader.str();
  const name = ERROR_NAMES.get(code) ?? `ERROR_${code}`;
  const text = `${opName(op)} refused by the xems sidecar: ${name}: ${message}`;
  if (name in VALIDATION_HINTS) return new XemsValidationError(name, text, VALIDATION_HINTS[name]);
  if (name === 'SHUTTING_DOWN') return new XemsUnavailableError('it is shutting down');
  // The shared store (Redis) cannot answer now: the same 503 as a sidecar outage.
  if (name === 'UNAVAILABLE') return new XemsUnavailableError(`its store cannot answer ${opName(op)} (${message})`);
  if (name === 'STORE_WRONG_SECRET') return new XemsConfigError('persistence.secret', `differs from the one the other instances use: ${message}`, 'Give every instance of the deployment the same persistence.secret, or use another store.keyPrefix.');
  if (name === 'STORE_WRONG_IDENTITY') return new XemsConfigError('hardwareBinding', `differs from the one the other instances use: ${message}`, 'Give every instance of the deployment the same hardwareBinding { id }, or use another store.keyPrefix.');
  if (name === 'LIMIT_REACHED') return new XemsSessionLimitError(message);
  const vaultKind = XemsVaultError.kindOf(name);
  if (vaultKind === 'write-failed') return new XemsVaultError(vaultKind, `${opName(op)} failed: ${message}`);
  if (vaultKind) return new XemsVaultError(vaultKind, `The xems vault cannot be opened: ${message}`);
  if (name === 'INTERNAL') {
    return new XemsSidecarError(name, text, 'This is a bug in the sidecar; its log line (XemsSidecar) has the details. Please report it.');
  }
  return new XemsProtocolError(name, text, 'The sidecar binary does not match this module version; rebuild it with "npm run build:sidecar".');
}
