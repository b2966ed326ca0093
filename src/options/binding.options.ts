import { OptionBoolean, OptionOneOf } from './option-rules';
import type { Resolved } from './resolved';

/** Client binding: a session only works for the client that created it (enforced by the sidecar). */
export class XemsBindingOptions {
  /**
   * Bind to the client address (Express's `req.ip`, which honours the `trust proxy` setting):
   * `'subnet'` the same /24 (IPv4) or /64 (IPv6), `'exact'` the same address. Default `'off'`.
   */
  @OptionOneOf(['off', 'subnet', 'exact'], "Use 'subnet' (same /24 or /64: survives address changes inside a network) or 'exact'.")
  ip?: 'off' | 'subnet' | 'exact' = 'off';

  /** Bind to the `User-Agent` header. Default `false`. */
  @OptionBoolean('Use true to bind sessions to the User-Agent header.')
  userAgent?: boolean = false;

  /**
   * On a mismatch: `'revoke'` ends the session and answers 401 (default), `'reject'` answers
   * 401 and keeps the session for its own client, `'log'` serves the request and reports it
   * (a log line and a `binding.mismatch` event).
   */
  @OptionOneOf(['revoke', 'reject', 'log'], "Use 'revoke' (default), 'reject' or 'log'.")
  onMismatch?: 'revoke' | 'reject' | 'log' = 'revoke';
}

export type ResolvedBindingOptions = Resolved<XemsBindingOptions>;

/** True when some binding is on (the guard then passes the client to the sidecar). */
export function isBindingOn(binding: ResolvedBindingOptions): boolean {
  return binding.ip !== 'off' || binding.userAgent;
}
