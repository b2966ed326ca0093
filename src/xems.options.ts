import { Allow } from 'class-validator';
import type { XemsDuration } from './duration.util';
import type { XemsHardwareBinding } from './persistence/machine-identity';
import { XemsPersistenceOptions } from './persistence/persistence.options';
import type { XemsStoreOptions } from './store/store.options';
import { XEMS_LIMITS } from './xems.defaults';
import { XemsBindingOptions } from './options/binding.options';
import { XemsCookieOptions } from './options/cookie.options';
import { XemsDeviceBoundOptions } from './options/device-bound.options';
import { HEADER_NAME, XemsCsrfOptions } from './options/csrf.options';
import { NestedOptions, OptionBoolean, OptionDuration, OptionInt, OptionOneOf, OptionString, describeValue } from './options/option-rules';
import { NO_DEFAULT } from './options/resolved';
import { XemsPassportOptions } from './options/passport.options';
import { XemsSidecarOptions } from './options/sidecar.options';
import { XemsTelemetryOptions } from './options/telemetry.options';
import { XemsReauthenticationOptions } from './options/reauthentication.options';

/**
 * The options of XemsModule.forRoot() / forRootAsync(). Each option is declared here once: its
 * type, its default (the initializer), its rule (the decorator) and its documentation. The
 * resolved form (ResolvedXemsOptions) is derived from this class.
 */
export class XemsModuleOptions {
  declare readonly [NO_DEFAULT]?: 'hardwareBinding';

  /** Default sandbox for sessions. Default `'xems.session'`. */
  @OptionString('Use 1-64 characters from A-Z a-z 0-9 . _ : -', {
    pattern: XEMS_LIMITS.sandboxPattern,
    problem: (v) => `${describeValue(v)} is not a valid sandbox name`,
  })
  sandbox?: string = 'xems.session';

  /** Session lifetime. Default `'1h'`; capped to 5 days with a warning. */
  @OptionDuration(1, Number.MAX_SAFE_INTEGER, "Use a positive duration, e.g. '1h' (more than 5 days is capped to 5 days).")
  ttl?: XemsDuration = '1h';

  /** `true`: rotate the token on every request; `false`: never; a duration: at most that often. Default `true`. */
  @OptionDuration(0, XEMS_LIMITS.maxTtlMs, "Use true (rotate on every request), false (never) or a duration such as '30s'.", {
    alsoAccepts: [true, false],
  })
  autoRotation?: boolean | XemsDuration = true;

  /** How long a superseded token keeps working (concurrent requests). Default 2000 ms, at most 60 s. */
  @OptionDuration(0, XEMS_LIMITS.maxGraceMs, "Use a duration between 0 and 60 s, e.g. 2000 or '2s'.")
  gracePeriod?: XemsDuration = 2000;

  /** Cookie transport; `false` turns cookies off. Cookies are always HttpOnly. */
  @NestedOptions(() => XemsCookieOptions, { alsoAccepts: [false] })
  cookie?: XemsCookieOptions | false = new XemsCookieOptions();

  /** Request/response header carrying the token for non-browser clients; `false` turns it off. Default `'x-xems-token'`. */
  @OptionString(
    "Use a header name such as 'x-xems-token', or false to turn the header transport off.",
    { pattern: HEADER_NAME, problem: (v) => `${describeValue(v)} is not a valid HTTP header name` },
    { alsoAccepts: [false], what: 'a header name or false' },
  )
  header?: string | false = 'x-xems-token';

  /** Idle timeout: a session unused this long ends (each use slides it, never past `ttl`). Default `false` (none). */
  @OptionDuration(1, XEMS_LIMITS.maxTtlMs, "Use false (no idle timeout) or a duration up to 5 days, e.g. '30m'.", { alsoAccepts: [false] })
  idleTimeout?: XemsDuration | false = false;

  /** Live sessions a user (`userId`) may have per sandbox; `0` = no limit (default). `1`: a new login ends the old one. */
  @OptionInt(0, 1_000_000, 'Use 0 (no limit) or a positive integer, e.g. 5.')
  maxSessionsPerUser?: number = 0;

  /** At the limit: `'evict-oldest'` ends the user's oldest session (default), `'reject'` refuses the login (XemsSessionLimitError). */
  @OptionOneOf(['evict-oldest', 'reject'], "Use 'evict-oldest' (a new login ends the oldest session) or 'reject' (the login fails).")
  onLimit?: 'evict-oldest' | 'reject' = 'evict-oldest';

  /** Bind sessions to the client's address and/or user agent. Default: off. */
  @NestedOptions(() => XemsBindingOptions)
  binding?: XemsBindingOptions = new XemsBindingOptions();

  /**
   * Device-bound sessions (W3C DBSC): `{}` turns them on with the defaults (README, "Device-bound
   * sessions"). Default `false`.
   */
  @NestedOptions(() => XemsDeviceBoundOptions, { alsoAccepts: [false] })
  deviceBound?: XemsDeviceBoundOptions | false = false;

  /** CsrfGuard's header, body field and allowed origins. */
  @NestedOptions(() => XemsCsrfOptions)
  csrf?: XemsCsrfOptions = new XemsCsrfOptions();

  /** Add `res.xLink(data, sandboxOrOptions)` and `res.xUnlink()` to Express responses (for code ported from XEMS). Default `false`. */
  @OptionBoolean('Use true to add res.xLink() / res.xUnlink() to Express responses.')
  expressHelpers?: boolean = false;

  /**
   * Fill `req.user` (or another property) from the session on guarded routes and after link(),
   * for code written for `@nestjs/passport`: `true` (the session data), or
   * `{ property, from: (data, session) => ... }`. Default `false`.
   */
  @NestedOptions(() => XemsPassportOptions, { alsoAccepts: [false, true] })
  passport?: XemsPassportOptions | boolean = false;

  /**
   * Track the request being handled in an AsyncLocalStorage, so `listSessions(userId)` marks the
   * caller's session `current` and `updateSession(token)` keeps @Session() in step without being
   * given the request. `true` (default): on, on every Node version, so the behaviour never
   * depends on the Node that runs the app. `'auto'`: on only where AsyncLocalStorage is cheap
   * (Node 24+, or Node 22 with `--experimental-async-context-frame`: AsyncContextFrame), off where
   * it is built on async hooks (Node 20 and 22), whose first run() turns on promise hooks that
   * every promise of the process then pays for. `false`: off. Only requests that carry
   * a session are tracked. Passing `current: req` (or the request) works either way.
   */
  @OptionOneOf(
    ['auto', true, false],
    "Use true (track the current request on every Node version), 'auto' (only where AsyncLocalStorage is cheap: Node 24+) or false (off).",
  )
  requestContext?: 'auto' | boolean = true;

  /** Encrypted persistence: sessions and values survive restarts (see the README, "Persistence"). */
  @NestedOptions(() => XemsPersistenceOptions)
  persistence?: XemsPersistenceOptions = new XemsPersistenceOptions();

  /**
   * With persistence: bind the vault's key to this machine's identity (`true`, default: a copied
   * vault or stolen backup does not open elsewhere), to a given `{ id }`, or to nothing (`false`).
   * With `store: { type: 'redis' }`: `{ id }` (one identity for the whole deployment) or `false`;
   * `true` is refused (several machines must read the same records).
   */
  // Checked by resolvePersistence and resolveStore (true, false or { id }).
  @Allow()
  hardwareBinding?: XemsHardwareBinding;

  /**
   * Where the sidecar keeps records: `{ type: 'memory' }` (default) or Redis/Valkey shared by
   * every instance, `{ type: 'redis', url }` / `{ type: 'redis', cluster: [urls] }` (README, "Several instances: Redis").
   */
  // Checked by resolveStore (its fields depend on its type; URLs are never echoed).
  @Allow()
  store?: XemsStoreOptions = { type: 'memory' };

  /** The sidecar process: binary, time and load limits. */
  @NestedOptions(() => XemsSidecarOptions)
  sidecar?: XemsSidecarOptions = new XemsSidecarOptions();

  /**
   * OpenTelemetry metrics and spans: on by default when `@opentelemetry/api` is installed,
   * nothing loaded when it is not (docs/observability.md).
   */
  @NestedOptions(() => XemsTelemetryOptions)
  telemetry?: XemsTelemetryOptions = new XemsTelemetryOptions();

  /**
   * The default of `@RequireFreshAuth()` without a duration: how recent the last
   * authentication (link, reauthenticated) must be. Default `'10m'`.
   */
  @OptionDuration(1, XEMS_LIMITS.maxTtlMs, "Use a duration up to 5 days, e.g. '10m'.")
  freshAuthMaxAge?: XemsDuration = '10m';

  /** Reauthentication ceilings and NIST SP 800-63B-4 assurance-level presets (off by default). */
  @NestedOptions(() => XemsReauthenticationOptions)
  reauthentication?: XemsReauthenticationOptions = new XemsReauthenticationOptions();
}
