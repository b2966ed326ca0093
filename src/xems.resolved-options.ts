import { resolvePersistence, type ResolvedPersistence } from './persistence/persistence.options';
import { resolveStore, type ResolvedStore } from './store/store.options';
import { TtlCap } from './ttl-cap';
import { XemsConfigError } from './xems.errors';
import { checkDeviceBound } from './options/device-bound.options';
import { checkCookie } from './options/cookie.options';
import { resolveCsrf } from './options/csrf.options';
import { resolveTelemetry } from './options/telemetry.options';
import { type ResolvedPassportOptions, resolvePassport } from './options/passport.options';
import { resolveReauthentication } from './options/reauthentication.options';
import { asyncContextIsCheap } from './xems.context';
import { XemsModuleOptions } from './xems.options';
import { resolvedOptions, validateOptions } from './options/options-validation';
import type { Resolved } from './options/resolved';

/**
 * The options after validation: every default applied, every duration in milliseconds (`ttl`,
 * `gracePeriod`, `idleTimeout` (false: none), `autoRotation` (true, false or a minimum interval),
 * `sidecar.*Timeout`), header names lower-cased, CSRF origins normalised, persistence and store
 * resolved (secrets parsed, identities read).
 */
export type ResolvedXemsOptions = Omit<
  Resolved<XemsModuleOptions>,
  'persistence' | 'store' | 'hardwareBinding' | 'passport' | 'reauthentication' | 'requestContext'
> & {
  /** Whether the request context is tracked ('auto' decided for this process: asyncContextIsCheap()). */
  requestContext: boolean;
  passport: ResolvedPassportOptions | false;
  persistence: ResolvedPersistence;
  store: ResolvedStore;
  /** The reauthentication ceiling in effect (0 = none), after the assurance-level preset. */
  reauthentication: { maxAgeMs: number };
};

export interface ResolveOptionsHooks {
  /** Called once when the TTL is capped to 5 days. */
  warn?(message: string): void;
  /** Reads a machine-id file for hardwareBinding: true (tests inject one). */
  readMachineId?(path: string): string;
}

/**
 * Validates the user's options once, at start-up, and applies the defaults. Nothing given
 * (undefined) means every default. Throws XemsConfigError naming the first invalid field, its
 * problem and the fix.
 */
export function resolveXemsOptions(raw?: XemsModuleOptions, hooks: ResolveOptionsHooks = {}): ResolvedXemsOptions {
  const given = raw ?? {};
  const options = validateOptions(XemsModuleOptions, given);
  const { hardwareBinding, persistence, store, ...resolved } = resolvedOptions(XemsModuleOptions, options);
  if (resolved.cookie) checkCookie(resolved.cookie);
  if (resolved.deviceBound) checkDeviceBound(resolved.deviceBound, resolved.cookie ? resolved.cookie.name : undefined);
  if (resolved.cookie === false && resolved.header === false) {
    throw new XemsConfigError(
      'cookie',
      'and "header" are both false: the token would have no way to reach the client',
      'Keep the cookie (browsers), the header (other clients), or both.',
    );
  }
  // The store first: a mistyped store (type 'Redis') must be named as such, not reported as
  // persistence.secret given without persistence.enabled.
  const resolvedStore = resolveStore(store, persistence, hardwareBinding, resolved.sidecar.requestTimeout);
  const sharedStore = resolvedStore.type === 'redis';
  const ceilings = resolveReauthentication(resolved.reauthentication);
  return {
    ...resolved,
    // An assurance-level preset sets the idle timeout unless the idleTimeout option was given.
    idleTimeout: given.idleTimeout === undefined && ceilings.presetIdleMs ? ceilings.presetIdleMs : resolved.idleTimeout,
    reauthentication: { maxAgeMs: ceilings.maxAgeMs },
    ttl: new TtlCap(hooks.warn).apply(resolved.ttl, 'XemsModule option "ttl"', given.ttl),
    header: resolved.header === false ? false : resolved.header.toLowerCase(),
    csrf: resolveCsrf(resolved.csrf),
    telemetry: resolveTelemetry(resolved.telemetry),
    passport: resolvePassport(resolved.passport),
    requestContext: resolved.requestContext === 'auto' ? asyncContextIsCheap() : resolved.requestContext,
    persistence: resolvePersistence(persistence, hardwareBinding, sharedStore, hooks.readMachineId),
    store: resolvedStore,
  };
}
