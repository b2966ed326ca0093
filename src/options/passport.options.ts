import { Allow } from 'class-validator';
import type { XemsSessionContext } from '../session.types';
import { XemsConfigError } from '../xems.errors';
import { OptionString, describeValue } from './option-rules';
import { NO_DEFAULT, type Resolved } from './resolved';

/**
 * Request properties the module never overwrites: the platforms' own (Express, Fastify) and
 * those other middleware own (express-session's `session`).
 */
const RESERVED = new Set(['raw', 'headers', 'body', 'params', 'query', 'ip', 'ips', 'url', 'method', 'socket', 'session', 'cookies', 'id']);

/**
 * `passport`: on guarded routes (and after link() or regenerate() in the same request) the
 * request's `user` (or `property`) is filled from the session, so code written for
 * `@nestjs/passport` (`req.user`, a `@User()` decorator reading it) keeps working once the
 * login handler called link(). Off by default.
 */
export class XemsPassportOptions {
  declare readonly [NO_DEFAULT]?: 'from';

  /** The request property to fill, as Passport names it. Default `'user'`. */
  @OptionString("Use a property name such as 'user'.", {
    pattern: /^[A-Za-z_$][A-Za-z0-9_$]{0,63}$/,
    problem: (v) => `${describeValue(v)} is not a property name`,
  })
  property?: string = 'user';

  /**
   * What to put there, from the session's data and context (id, sandbox, expiry). Default: the
   * session data itself. Called once each time the request gets its session.
   */
  // Checked by resolvePassport (a function).
  @Allow()
  from?: (data: unknown, session: XemsSessionContext) => unknown;
}

export type ResolvedPassportOptions = Resolved<XemsPassportOptions>;

/** `true` is the defaults, `false` (default) off; a property the platform or other middleware owns is refused. */
export function resolvePassport(passport: ResolvedPassportOptions | boolean): ResolvedPassportOptions | false {
  if (passport === false) return false;
  const resolved: ResolvedPassportOptions = passport === true ? { property: 'user' } : passport;
  if (RESERVED.has(resolved.property)) {
    throw new XemsConfigError(
      'passport.property',
      `"${resolved.property}" belongs to the request itself (or to other middleware)`,
      "Use 'user' (Passport's name) or another free name.",
    );
  }
  if (resolved.from !== undefined && typeof resolved.from !== 'function') {
    throw new XemsConfigError(
      'passport.from',
      `must be a function, got ${describeValue(resolved.from)}`,
      'Pass (data, session) => data.user, or leave it out to use the session data itself.',
    );
  }
  return resolved;
}
