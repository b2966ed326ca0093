import { Injectable } from '@nestjs/common';
import type { XemsResolvedSession } from './session.types';
import { TOKEN_CHARS } from './token-shape';

/**
 * A response that leaves this long after its session's token was learned from the sidecar is
 * "late": with the Redis store another instance may have rotated the token meanwhile.
 */
export const LATE_RESPONSE_MS = 1;

/** The generation a token carries (`sid(16) || gen(u32 big-endian) || secret(32)`, docs/sidecar-internals.md "Tokens"); -1 if unreadable. */
export function tokenGeneration(token: string): number {
  // Read from the characters that carry bytes 15..20 (two 3-byte groups): no buffer per call.
  if (token.length === TOKEN_CHARS) {
    const high = base64urlGroup(token, 20);
    const low = base64urlGroup(token, 24);
    if (high >= 0 && low >= 0) return (high & 0xffff) * 0x10000 + (low >>> 8);
  }
  const raw = Buffer.from(token, 'base64url');
  return raw.length === 52 ? raw.readUInt32BE(16) : -1;
}

/** The value of each base64url character by char code, -1 for anything else. */
const BASE64URL_VALUES = ((): Int8Array => {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const values = new Int8Array(128).fill(-1);
  for (let i = 0; i < alphabet.length; i++) values[alphabet.charCodeAt(i)] = i;
  return values;
})();

/** The 3 bytes (24 bits) the 4 characters at `at` encode, or -1 if one is not base64url. */
function base64urlGroup(s: string, at: number): number {
  let group = 0;
  for (let i = at; i < at + 4; i++) {
    const c = s.charCodeAt(i);
    const v = c < 128 ? BASE64URL_VALUES[c] : -1;
    if (v < 0) return -1;
    group = (group << 6) | v;
  }
  return group;
}

/** One session with requests in flight in this process. */
export interface LedgerEntry {
  readonly sandbox: string;
  readonly id: string;
  /** The newest state of the session handed out here (its token has the highest generation seen), or null once the session was ended here. */
  newest: XemsResolvedSession | null;
  generation: number;
  /** performance.now() when `newest` came from the sidecar. */
  learnedAt: number;
  inFlight: number;
}

/**
 * The newest token this process has handed out for each session that has requests in flight,
 * so that a response never writes a token older than one the client may already hold: a slow
 * response that overlaps quicker requests of the same client (which rotated the token past
 * the one its own request got) writes the newest token instead of its own. Tokens are ordered
 * by the generation they carry, not by the order replies arrive in. A session ended here
 * (logout, revoke, regenerate, a reuse verdict) stays ended: its late responses write no token,
 * never a successor (which would hand a regenerated or re-logged-in session to whoever else
 * held the old one). An entry lives while requests of its session are in flight.
 */
@Injectable()
export class SessionLedger {
  /**
   * Entries by sandbox, then by session id: a lookup hashes the reply's session id alone (a
   * key joined from both would be a new string to build and hash on every resolve).
   */
  private readonly sandboxes = new Map<string, Map<string, LedgerEntry>>();
  private entryCount = 0;

  /** A request now holds `session` (just learned from the sidecar): it counts as in flight until leave(). */
  enter(session: XemsResolvedSession): LedgerEntry {
    let entries = this.sandboxes.get(session.sandbox);
    if (!entries) this.sandboxes.set(session.sandbox, (entries = new Map()));
    let entry = entries.get(session.id);
    if (!entry) {
      entry = {
        sandbox: session.sandbox,
        id: session.id,
        newest: session,
        generation: tokenGeneration(session.token),
        learnedAt: performance.now(),
        inFlight: 0,
      };
      entries.set(session.id, entry);
      this.entryCount++;
    } else {
      this.record(entry, session);
    }
    entry.inFlight++;
    return entry;
  }

  /** Newer knowledge of a session (another call returned its token): kept if a request of it is in flight. */
  learn(session: XemsResolvedSession): void {
    if (this.entryCount === 0) return; // nothing in flight (resolveSession outside a request)
    const entry = this.find(session.sandbox, session.id);
    if (entry) this.record(entry, session);
  }

  /** The session was ended here: responses still in flight for it write no token. */
  end(sandbox: string, id: string): void {
    const entry = this.find(sandbox, id);
    if (entry) entry.newest = null;
  }

  /** Every session of the sandbox was ended here (revokeAll): their responses in flight write no token. */
  endSandbox(sandbox: string): void {
    const entries = this.sandboxes.get(sandbox);
    if (entries) for (const entry of entries.values()) entry.newest = null;
  }

  /** A request of the entry's session is done. */
  leave(entry: LedgerEntry): void {
    if (--entry.inFlight > 0) return;
    const entries = this.sandboxes.get(entry.sandbox);
    if (entries?.get(entry.id) !== entry) return;
    entries.delete(entry.id);
    this.entryCount--;
    if (entries.size === 0) this.sandboxes.delete(entry.sandbox);
  }

  /** Sessions with requests in flight (for tests and stats). */
  get size(): number {
    return this.entryCount;
  }

  private find(sandbox: string, id: string): LedgerEntry | undefined {
    return this.sandboxes.get(sandbox)?.get(id);
  }

  private record(entry: LedgerEntry, session: XemsResolvedSession): void {
    if (entry.newest === null) return; // ended here: stays ended
    const generation = tokenGeneration(session.token);
    if (generation > entry.generation || session.token === entry.newest.token) {
      entry.newest = session;
      entry.generation = generation;
      entry.learnedAt = performance.now();
    }
  }
}
