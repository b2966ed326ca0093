import type { SidecarPersistence } from '../persistence/vault-configure';
import type { SidecarStore } from '../store/store.options';

export interface SidecarProcessOptions {
  binaryPath?: string;
  startTimeoutMs: number;
  requestTimeoutMs: number;
  shutdownTimeoutMs: number;
  maxInFlight: number;
  maxRestarts: number;
  /** Sidecar log level sent in CONFIGURE. */
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** Ask the sidecar to report expired sessions (CONFIGURE expiryEvents); see onExpired. */
  onExpired?(sandbox: string, sessionIds: string[]): void;
  /** With the Redis store: ask the sidecar to report sessions other instances ended (CONFIGURE endedEvents). */
  onEnded?(sandbox: string, reason: number, sessionIds: string[]): void;
  /** Encrypted persistence: every (re)started sidecar loads this vault (src/persistence/). */
  persistence?: SidecarPersistence;
  /** The shared Redis store (src/store/): every (re)started sidecar connects to it. */
  store?: SidecarStore;
}

/** The part of Nest's LoggerService the supervisor uses. */
export interface SidecarLogger {
  log(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  debug?(message: string): void;
}

export type SidecarEvent =
  | { type: 'sidecar.started'; pid: number; buildVersion: string }
  | { type: 'sidecar.restarted'; pid: number; buildVersion: string; attempt: number; downtimeMs: number }
  | { type: 'sidecar.unavailable'; reason: string; willRestart: boolean; retryInMs?: number }
  | { type: 'sidecar.stopped'; pid: number }
  /** Persistence: a change could not be written to the vault (disk full, read-only, failing); it was not made. */
  | { type: 'vault.write-failed'; op: string; reason: string };

export type SidecarState = 'idle' | 'starting' | 'running' | 'restarting' | 'failed' | 'stopping' | 'stopped';
