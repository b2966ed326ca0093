import { XemsConfigError } from '../xems.errors';
import { OptionBoolean, OptionOneOf, OptionString, describeValue } from './option-rules';
import { NO_DEFAULT, type Resolved } from './resolved';

// RFC 6265 cookie-name (an RFC 7230 token): this refuses ; , = spaces and control characters.
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,128}$/;
// Printable ASCII without ; , = or space.
const COOKIE_PATH = /^\/[!-+\--:<>-~]*$/;
const COOKIE_DOMAIN = /^\.?[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** The token cookie (always HttpOnly). */
export class XemsCookieOptions {
  declare readonly [NO_DEFAULT]?: 'domain';

  /** Cookie name. Default `'xems_token'`. */
  @OptionString("Use 1-128 characters from A-Z a-z 0-9 ! # $ % & ' * + - . ^ _ ` | ~, e.g. 'xems_token'.", {
    pattern: COOKIE_NAME,
    problem: (v) =>
      `${describeValue(v)} contains a character not allowed in a cookie name (such as ; , = space or a control character) or is empty/too long`,
  })
  name?: string = 'xems_token';

  /** Cookie path. Default `'/'`. */
  @OptionString("Use a path such as '/' or '/app'.", {
    pattern: COOKIE_PATH,
    problem: (v) => `${describeValue(v)} must start with / and contain no ; , = space or control character`,
  })
  path?: string = '/';

  /** Cookie domain. Default: none (a host-only cookie). */
  @OptionString("Use a host name such as 'example.com', or leave it out for a host-only cookie.", {
    pattern: COOKIE_DOMAIN,
    problem: (v) => `${describeValue(v)} is not a host name (no ; , = space, control character, port or scheme)`,
  })
  domain?: string;

  /** Send the cookie over HTTPS only. Default `true`. */
  @OptionBoolean('Keep the default (true) in production: the token must never travel over plain HTTP.')
  secure?: boolean = true;

  /** Default `'strict'`. `'none'` requires `secure: true`. */
  @OptionOneOf(['strict', 'lax', 'none'], "Use 'strict' (default) unless cross-site navigation must carry the session ('lax').")
  sameSite?: 'strict' | 'lax' | 'none' = 'strict';

  /** Always `true`: page scripts never read the token. `false` is refused (so that it is not silently ignored). */
  @OptionOneOf(
    [true],
    'Remove cookie.httpOnly; page scripts must never read the token.',
    'cannot be false: the session cookie is always HttpOnly',
  )
  httpOnly? = true as const;
}

export type ResolvedCookieOptions = Resolved<XemsCookieOptions>;

/** The rules between the cookie's fields (each field is valid on its own by now). */
export function checkCookie(cookie: ResolvedCookieOptions): void {
  if (cookie.sameSite === 'none' && !cookie.secure) {
    throw new XemsConfigError(
      'cookie.sameSite',
      "'none' requires cookie.secure: true (browsers drop the cookie otherwise)",
      "Set cookie.secure: true, or use sameSite 'lax'/'strict'.",
    );
  }
  if (cookie.name.startsWith('__Host-') && (!cookie.secure || cookie.path !== '/' || cookie.domain !== undefined)) {
    throw new XemsConfigError(
      'cookie.name',
      'a __Host- cookie needs secure: true, path "/" and no domain',
      'Fix those options or drop the __Host- prefix.',
    );
  }
  if (cookie.name.startsWith('__Secure-') && !cookie.secure) {
    throw new XemsConfigError(
      'cookie.name',
      'a __Secure- cookie needs secure: true',
      'Set cookie.secure: true or drop the __Secure- prefix.',
    );
  }
}
