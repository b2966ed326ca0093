import type { XemsAuthMethod, XemsAuthentication } from './auth-methods';

/**
 * The request-side rules of the authentication record (docs/architecture.md, "Step-up"): how
 * recent a route needs the last authentication (@RequireFreshAuth) and the reauthentication
 * ceilings of an assurance level. The sidecar keeps the record (sealed, with the session); the
 * decision depends on the route, so it is taken here, once, for every request path.
 */

/** What a route demands: an authentication at most maxAgeMs old, by every one of `methods`. */
export interface FreshAuthRequirement {
  maxAgeMs: number;
  methods: readonly XemsAuthMethod[];
}

/** Whether `auth` meets `requirement` at time `now` (Unix ms). A session without a record never does. */
export function isFreshEnough(auth: XemsAuthentication | undefined, requirement: FreshAuthRequirement, now: number): boolean {
  if (!auth) return false;
  if (now - auth.authenticatedAt > requirement.maxAgeMs) return false;
  return requirement.methods.every((m) => auth.methods.includes(m));
}

/**
 * The RFC 9470 challenge of a refused step-up: the client learns the error and the maximum
 * age (whole seconds, rounded down, at least 0) it must reauthenticate within.
 */
export function stepUpChallenge(requirement: FreshAuthRequirement): string {
  const maxAge = Math.max(0, Math.floor(requirement.maxAgeMs / 1000));
  return `Bearer error="insufficient_user_authentication", error_description="A more recent authentication is required", max_age=${maxAge}`;
}

/** Authentication assurance levels of NIST SP 800-63B-4. */
export type XemsAssuranceLevel = 'AAL1' | 'AAL2' | 'AAL3';

/**
 * The reauthentication ceilings NIST SP 800-63B-4 sets per assurance level (final text,
 * Sec. 2.1.3, 2.2.3 and 2.3.3, "Reauthentication"; timeouts defined in Sec. 5.2):
 * - AAL1: overall timeout SHOULD be no more than 30 days; an inactivity timeout MAY be applied
 *   but is not required (none here).
 * - AAL2: overall timeout SHOULD be no more than 24 hours; inactivity timeout SHOULD be no
 *   more than 1 hour.
 * - AAL3: overall timeout SHALL be no more than 12 hours; inactivity timeout SHOULD be no
 *   more than 15 minutes.
 * `maxAgeMs` bounds the time since the last authentication; `idleMs` (0: none) is the session's
 * idle timeout. No session outlives 5 days anyway (the TTL cap), so AAL1's 30 days only matters
 * as the bound it is.
 */
export const ASSURANCE_CEILINGS: Readonly<Record<XemsAssuranceLevel, { maxAgeMs: number; idleMs: number }>> = {
  AAL1: { maxAgeMs: 30 * 24 * 3_600_000, idleMs: 0 },
  AAL2: { maxAgeMs: 24 * 3_600_000, idleMs: 3_600_000 },
  AAL3: { maxAgeMs: 12 * 3_600_000, idleMs: 15 * 60_000 },
};

/**
 * Whether an authenticated session is past its reauthentication ceiling (maxAgeMs since its
 * last authentication; 0 = no ceiling). A session without an authentication record (an
 * anonymous one: createSession without methods, an express-session store) has no user whose
 * authentication could be due, so no ceiling applies to it.
 */
export function isPastCeiling(auth: XemsAuthentication | undefined, maxAgeMs: number, now: number): boolean {
  return maxAgeMs > 0 && auth !== undefined && now - auth.authenticatedAt > maxAgeMs;
}
