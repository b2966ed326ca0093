import { SetMetadata, UseGuards, applyDecorators } from '@nestjs/common';
import { type XemsAuthMethod, authMethodBits } from './auth-methods';
import { type XemsDuration, parseDuration } from './duration.util';
import { SessionGuard } from './session.guard';
import { XEMS_FRESH_AUTH_METADATA } from './xems.constants';
import { XEMS_LIMITS } from './xems.defaults';
import { XemsConfigError } from './xems.errors';

/** What @RequireFreshAuth() records: the maximum age (undefined: the module's freshAuthMaxAge) and the methods. */
export interface XemsFreshAuthMetadata {
  maxAgeMs?: number;
  methods: XemsAuthMethod[];
}

/**
 * Demands a recent authentication for a handler or controller (a step-up before a sensitive
 * action): its session must have been authenticated (link, reauthenticated) at most `maxAge`
 * ago (default: the module's `freshAuthMaxAge`, 10 minutes), and, with `methods`, by every one
 * of them. Otherwise 401 with code `XEMS_FRESH_AUTH_REQUIRED` and `WWW-Authenticate: Bearer
 * error="insufficient_user_authentication", max_age=<seconds>` (RFC 9470), so the page knows to
 * ask for the password or passkey again and call reauthenticated(). The session itself stays.
 *
 * It applies SessionGuard (a route already guarded by it resolves the session once).
 */
export function RequireFreshAuth(maxAge?: XemsDuration, options: { methods?: XemsAuthMethod[] } = {}): ClassDecorator & MethodDecorator {
  let maxAgeMs: number | undefined;
  if (maxAge !== undefined) {
    maxAgeMs = parseDuration(maxAge);
    if (maxAgeMs === undefined || maxAgeMs < 1 || maxAgeMs > XEMS_LIMITS.maxTtlMs) {
      throw new XemsConfigError(
        '@RequireFreshAuth()',
        `${JSON.stringify(maxAge)} is not a duration up to 5 days`,
        "Use e.g. '10m' or 600000.",
      );
    }
  }
  try {
    authMethodBits(options.methods, '@RequireFreshAuth()');
  } catch (error) {
    const e = error as XemsConfigError;
    throw new XemsConfigError('@RequireFreshAuth() methods', e.message, e.hint);
  }
  const metadata: XemsFreshAuthMetadata = { maxAgeMs, methods: [...(options.methods ?? [])] };
  return applyDecorators(SetMetadata(XEMS_FRESH_AUTH_METADATA, metadata), UseGuards(SessionGuard));
}
