import {
  Allow,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Max,
  Min,
  ValidateIf,
  ValidateNested,
  ValidationArguments,
  ValidationError,
  ValidationOptions,
  registerDecorator,
  validateSync,
} from 'class-validator';
import { parseDuration } from './duration.util';
import { XEMS_DEFAULTS, XEMS_LIMITS } from './xems.defaults';
import { XemsConfigError } from './xems.errors';
import { ResolvedPersistence, resolvePersistence } from './persistence/persistence.options';
import type { XemsPersistenceOptions } from './persistence/persistence.options';
import type { XemsHardwareBinding } from './persistence/machine-identity';
import { ResolvedStore, resolveStore } from './store/store.options';
import type { XemsStoreOptions } from './store/store.options';

/** A duration: a number of milliseconds, or a string such as `'500ms'`, `'30s'`, `'15m'`, `'1h'`, `'2d'`. */
export type XemsDuration = number | `${number}${'ms' | 's' | 'm' | 'h' | 'd'}`;

export interface XemsCookieOptions {
  /** Cookie name. Default `'xems_token'`. */
  name?: string;
  /** Cookie path. Default `'/'`. */
  path?: string;
  /** Cookie domain. Default: none (host-only cookie). */
  domain?: string;
  /** Send the cookie over HTTPS only. Default `true`. */
  secure?: boolean;
  /** Default `'strict'`. `'none'` requires `secure: true`. */
  sameSite?: 'strict' | 'lax' | 'none';
}

export type { XemsPersistenceOptions, XemsFsyncPolicy } from './persistence/persistence.options';
export type { XemsStoreOptions, XemsRedisServerStore, XemsRedisClusterStore } from './store/store.options';
export type { XemsHardwareBinding } from './persistence/machine-identity';

/** Client binding: a session only works for the client that created it (enforced by the sidecar). */
export interface XemsBindingOptions {
  /**
   * Bind to the client address (Express's `req.ip`, which honours the `trust proxy` setting):
   * `'subnet'` the same /24 (IPv4) or /64 (IPv6), `'exact'` the same address. Default `'off'`.
   */
  ip?: 'off' | 'subnet' | 'exact';
  /** Bind to the `User-Agent` header. Default `false`. */
  userAgent?: boolean;
  /**
   * On a mismatch: `'revoke'` ends the session and answers 401 (default), `'reject'` answers
   * 401 and keeps the session for its own client, `'log'` serves the request and reports it
   * (a log line and a `binding.mismatch` event).
   */
  onMismatch?: 'revoke' | 'reject' | 'log';
}

/** CsrfGuard's options. */
export interface XemsCsrfOptions {
  /** Request header carrying the CSRF token. Default `'x-csrf-token'`. */
  header?: string;
  /** Body field carrying the CSRF token (HTML forms). Default `'_csrf'`. */
  field?: string;
  /**
   * When set, unsafe requests must also come from one of these origins (`Origin` header, or
   * `Referer` when a browser sent no `Origin`), e.g. `['https://app.example.com']`.
   */
  origins?: string[];
}

export interface XemsSidecarOptions {
  /** Path of the xems-sidecar binary. Default: `XEMS_SIDECAR_PATH`, else the binary inside the package. */
  binaryPath?: string;
  /** Time allowed for the sidecar to start and complete the handshake. Default 5 s. */
  startTimeout?: XemsDuration;
  /** Time allowed for one request. Default 2 s. */
  requestTimeout?: XemsDuration;
  /** Time allowed for a graceful shutdown before SIGKILL. Default 3 s. */
  shutdownTimeout?: XemsDuration;
  /** Requests waiting for a reply at once; more fail fast with XemsOverloadedError. Default 10000. */
  maxInFlight?: number;
  /** Restarts allowed within one minute after crashes. Default 10. */
  maxRestarts?: number;
}

export interface XemsModuleOptions {
  /** Default sandbox for sessions. Default `'xems.session'`. */
  sandbox?: string;
  /** Session lifetime. Default `'1h'`; capped to 5 days with a warning. */
  ttl?: XemsDuration;
  /** `true`: rotate the token on every request; `false`: never; a duration: at most that often. Default `true`. */
  autoRotation?: boolean | XemsDuration;
  /** How long a superseded token keeps working (concurrent requests). Default 2000 ms, at most 60 s. */
  gracePeriod?: XemsDuration;
  /** Cookie transport; `false` turns cookies off. Cookies are always HttpOnly. */
  cookie?: XemsCookieOptions | false;
  /** Request/response header carrying the token for non-browser clients; `false` turns it off. Default `'x-xems-token'`. */
  header?: string | false;
  /** Idle timeout: a session unused this long ends (each use slides it, never past `ttl`). Default `false` (none). */
  idleTimeout?: XemsDuration | false;
  /** Live sessions a user (`userId`) may have per sandbox; `0` = no limit (default). `1`: a new login ends the old one. */
  maxSessionsPerUser?: number;
  /** At the limit: `'evict-oldest'` ends the user's oldest session (default), `'reject'` refuses the login (XemsSessionLimitError). */
  onLimit?: 'evict-oldest' | 'reject';
  /** Bind sessions to the client's address and/or user agent. Default: off. */
  binding?: XemsBindingOptions;
  /** CsrfGuard's header, body field and allowed origins. */
  csrf?: XemsCsrfOptions;
  /** Add `res.xLink(data, sandboxOrOptions)` and `res.xUnlink()` to Express responses (for code ported from XEMS). Default `false`. */
  expressHelpers?: boolean;
  /**
   * Track the request being handled in an AsyncLocalStorage, so `listSessions(userId)` marks the
   * caller's session `current` and `updateSession(token)` keeps @Session() in step without being
   * given the request. Default `true`. `false` saves its cost (on Node 20 the first
   * AsyncLocalStorage.run turns on promise hooks for the whole process; measured at 0-8 µs of CPU
   * per request, see the README). Passing `current: req` (or the request) works either way.
   */
  requestContext?: boolean;
  /** Encrypted persistence: sessions and values survive restarts (see the README, "Persistence"). */
  persistence?: XemsPersistenceOptions;
  /**
   * With persistence: bind the vault's key to this machine's identity (`true`, default: a copied
   * vault or stolen backup does not open elsewhere), to a given `{ id }`, or to nothing (`false`).
   * With `store: { type: 'redis' }`: `{ id }` (one identity for the whole deployment) or `false`;
   * `true` is refused (several machines must read the same records).
   */
  hardwareBinding?: XemsHardwareBinding;
  /**
   * Where the sidecar keeps records: `{ type: 'memory' }` (default) or Redis/Valkey shared by
   * every instance, `{ type: 'redis', url }` / `{ type: 'redis', cluster: [urls] }` (README, "Several instances: Redis").
   */
  store?: XemsStoreOptions;
  sidecar?: XemsSidecarOptions;
}

/** The options after validation, with every default applied and every duration in milliseconds. */
export interface ResolvedXemsOptions {
  sandbox: string;
  ttlMs: number;
  rotation: { enabled: boolean; minIntervalMs: number };
  graceMs: number;
  cookie: ResolvedCookieOptions | false;
  /** Lower-cased header name, or false. */
  header: string | false;
  /** 0 = no idle timeout. */
  idleMs: number;
  /** 0 = no limit. */
  maxSessionsPerUser: number;
  onLimit: 'evict-oldest' | 'reject';
  binding: { ip: 'off' | 'subnet' | 'exact'; userAgent: boolean; onMismatch: 'revoke' | 'reject' | 'log'; enabled: boolean };
  /** header lower-cased; origins normalised (scheme://host[:port]) or undefined. */
  csrf: { header: string; field: string; origins?: string[] };
  expressHelpers: boolean;
  requestContext: boolean;
  persistence: ResolvedPersistence;
  store: ResolvedStore;
  sidecar: {
    binaryPath?: string;
    startTimeoutMs: number;
    requestTimeoutMs: number;
    shutdownTimeoutMs: number;
    maxInFlight: number;
    maxRestarts: number;
  };
}

export interface ResolvedCookieOptions {
  name: string;
  path: string;
  domain?: string;
  secure: boolean;
  sameSite: 'strict' | 'lax' | 'none';
}

// RFC 6265 cookie-name (an RFC 7230 token): this refuses ; , = spaces and control characters.
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,128}$/;
// Printable ASCII without ; , = or space.
const COOKIE_PATH = /^\/[!-+\--:<>-~]*$/;
const COOKIE_DOMAIN = /^\.?[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,128}$/;

function hint(text: string): ValidationOptions {
  return { context: { hint: text } };
}

/** A duration option (number of ms or `<digits><unit>`), within [min, max] milliseconds. */
function IsXemsDuration(min: number, max: number, hintText: string): PropertyDecorator {
  return (target: object, propertyName: string | symbol) => {
    registerDecorator({
      name: 'isXemsDuration',
      target: target.constructor,
      propertyName: propertyName as string,
      constraints: [min, max],
      options: hint(hintText),
      validator: {
        validate(value: unknown): boolean {
          const ms = parseDuration(value);
          return ms !== undefined && ms >= min && ms <= max;
        },
        defaultMessage(args: ValidationArguments): string {
          const ms = parseDuration(args.value);
          if (ms === undefined) {
            return `${describe(args.value)} is not a duration (a number of milliseconds, or a string like '30s')`;
          }
          return `${describe(args.value)} is ${ms} ms, outside ${min}..${max} ms`;
        },
      },
    });
  };
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) {
    return String(value);
  }
  return `a value of type ${Array.isArray(value) ? 'array' : typeof value}`;
}

const DURATION_HINT = "Use a number of milliseconds or a string matching ^\\d+(ms|s|m|h|d)$, e.g. '30s' or '1h'.";

class CookieOptionsSchema {
  // Character rules are checked by checkCookie() with a precise message.
  @IsOptional()
  @IsString({ message: (a) => `must be a string, got ${describe(a.value)}`, ...hint('Use a short ASCII name such as "xems_token".') })
  name?: string;

  @IsOptional()
  @IsString({ message: (a) => `must be a string, got ${describe(a.value)}`, ...hint('Use a path such as "/".') })
  path?: string;

  @IsOptional()
  @IsString({ message: (a) => `must be a string, got ${describe(a.value)}`, ...hint('Use a host name such as "example.com", or leave it out for a host-only cookie.') })
  domain?: string;

  @IsOptional()
  @IsBoolean({ message: (a) => `must be true or false, got ${describe(a.value)}`, ...hint('Keep the default (true) in production: the token must never travel over plain HTTP.') })
  secure?: boolean;

  @IsOptional()
  @IsIn(['strict', 'lax', 'none'], {
    message: (a) => `must be 'strict', 'lax' or 'none', got ${describe(a.value)}`,
    ...hint("Use 'strict' (default) unless cross-site navigation must carry the session ('lax').")
  })
  sameSite?: 'strict' | 'lax' | 'none';

  // Not part of XemsCookieOptions: accepted only as `true`, so a JavaScript caller passing
  // `httpOnly: false` learns why it is refused instead of reading "unknown option".
  @IsOptional()
  @IsIn([true], {
    message: 'cannot be false: the session cookie is always HttpOnly',
    ...hint('Remove cookie.httpOnly; page scripts must never read the token.'),
  })
  httpOnly?: true;
}

class PersistenceOptionsSchema {
  @IsOptional()
  @IsBoolean({ message: (a) => `must be true or false, got ${describe(a.value)}`, ...hint('Use true or false.') })
  enabled?: boolean;

  // Checked (never echoed) by resolvePersistence: a string or a Buffer, of several forms.
  @Allow()
  secret?: string | Buffer;

  @IsOptional()
  @IsString({ message: (a) => `must be a string, got ${describe(a.value)}`, ...hint('Use the path of a directory for the vault.') })
  path?: string;

  @IsOptional()
  @IsIn(['always', 'everysec', 'no'], {
    message: (a) => `must be 'always', 'everysec' or 'no', got ${describe(a.value)}`,
    ...hint("Use 'everysec' (default), or 'always' to lose nothing acknowledged even on power loss."),
  })
  fsync?: 'always' | 'everysec' | 'no';
}

class BindingOptionsSchema {
  @IsOptional()
  @IsIn(['off', 'subnet', 'exact'], { message: (a) => `must be 'off', 'subnet' or 'exact', got ${describe(a.value)}`, ...hint("Use 'subnet' (same /24 or /64: survives address changes inside a network) or 'exact'.") })
  ip?: 'off' | 'subnet' | 'exact';

  @IsOptional()
  @IsBoolean({ message: (a) => `must be true or false, got ${describe(a.value)}`, ...hint('Use true to bind sessions to the User-Agent header.') })
  userAgent?: boolean;

  @IsOptional()
  @IsIn(['revoke', 'reject', 'log'], { message: (a) => `must be 'revoke', 'reject' or 'log', got ${describe(a.value)}`, ...hint("Use 'revoke' (default), 'reject' or 'log'.") })
  onMismatch?: 'revoke' | 'reject' | 'log';
}

class CsrfOptionsSchema {
  @IsOptional()
  @IsString({ message: (a) => `must be a string, got ${describe(a.value)}`, ...hint("Use a header name such as 'x-csrf-token'.") })
  header?: string;

  @IsOptional()
  @IsString({ message: (a) => `must be a string, got ${describe(a.value)}`, ...hint("Use a form field name such as '_csrf'.") })
  field?: string;

  @IsOptional()
  @IsArray({ message: (a) => `must be an array of origins, got ${describe(a.value)}`, ...hint("Use e.g. ['https://app.example.com'].") })
  @IsString({ each: true, message: 'must contain only strings', ...hint("Use e.g. ['https://app.example.com'].") })
  origins?: string[];
}

class SidecarOptionsSchema {
  @IsOptional()
  @IsString({ message: (a) => `must be a string, got ${describe(a.value)}`, ...hint('Use the path of an xems-sidecar binary, or leave it out to use the one inside the package.') })
  binaryPath?: string;

  @IsOptional()
  @IsXemsDuration(1, 600_000, `Use a duration up to 10 minutes, e.g. '5s'. ${DURATION_HINT}`)
  startTimeout?: XemsDuration;

  @IsOptional()
  @IsXemsDuration(1, 600_000, `Use a duration up to 10 minutes, e.g. '2s'. ${DURATION_HINT}`)
  requestTimeout?: XemsDuration;

  @IsOptional()
  @IsXemsDuration(1, 600_000, `Use a duration up to 10 minutes, e.g. '3s'. ${DURATION_HINT}`)
  shutdownTimeout?: XemsDuration;

  @IsOptional()
  @IsInt({ message: (a) => `must be an integer, got ${describe(a.value)}`, ...hint('Use an integer between 1 and 1000000.') })
  @Min(1, { message: (a) => `must be at least 1, got ${describe(a.value)}`, ...hint('Use an integer between 1 and 1000000.') })
  @Max(1_000_000, { message: (a) => `must be at most 1000000, got ${describe(a.value)}`, ...hint('Use an integer between 1 and 1000000.') })
  maxInFlight?: number;

  @IsOptional()
  @IsInt({ message: (a) => `must be an integer, got ${describe(a.value)}`, ...hint('Use an integer between 0 (never restart) and 1000.') })
  @Min(0, { message: (a) => `must be at least 0, got ${describe(a.value)}`, ...hint('Use an integer between 0 (never restart) and 1000.') })
  @Max(1000, { message: (a) => `must be at most 1000, got ${describe(a.value)}`, ...hint('Use an integer between 0 (never restart) and 1000.') })
  maxRestarts?: number;
}

class XemsOptionsSchema {
  @IsOptional()
  @IsString({ message: (a) => `must be a string, got ${describe(a.value)}`, ...hint('Use 1-64 characters from A-Z a-z 0-9 . _ : -') })
  sandbox?: string;

  @IsOptional()
  @IsXemsDuration(1, Number.MAX_SAFE_INTEGER, `Use a positive duration, e.g. '1h' (more than 5 days is capped to 5 days). ${DURATION_HINT}`)
  ttl?: XemsDuration;

  @IsOptional()
  @ValidateIf((_o, v) => typeof v !== 'boolean')
  @IsXemsDuration(0, XEMS_LIMITS.maxTtlMs, `Use true (rotate on every request), false (never) or a duration such as '30s'. ${DURATION_HINT}`)
  autoRotation?: boolean | XemsDuration;

  @IsOptional()
  @IsXemsDuration(0, XEMS_LIMITS.maxGraceMs, `Use a duration between 0 and 60 s, e.g. 2000 or '2s'. ${DURATION_HINT}`)
  gracePeriod?: XemsDuration;

  @IsOptional()
  @ValidateIf((_o, v) => v !== false)
  @ValidateNested()
  cookie?: CookieOptionsSchema | false;

  @IsOptional()
  @ValidateIf((_o, v) => v !== false)
  @IsString({ message: (a) => `must be a header name or false, got ${describe(a.value)}`, ...hint("Use a header name such as 'x-xems-token', or false to turn the header transport off.") })
  header?: string | false;

  @IsOptional()
  @ValidateIf((_o, v) => v !== false)
  @IsXemsDuration(1, XEMS_LIMITS.maxTtlMs, `Use false (no idle timeout) or a duration up to 5 days, e.g. '30m'. ${DURATION_HINT}`)
  idleTimeout?: XemsDuration | false;

  @IsOptional()
  @IsInt({ message: (a) => `must be an integer, got ${describe(a.value)}`, ...hint('Use 0 (no limit) or a positive integer, e.g. 5.') })
  @Min(0, { message: (a) => `must be at least 0, got ${describe(a.value)}`, ...hint('Use 0 (no limit) or a positive integer, e.g. 5.') })
  @Max(1_000_000, { message: (a) => `must be at most 1000000, got ${describe(a.value)}`, ...hint('Use 0 (no limit) or a positive integer, e.g. 5.') })
  maxSessionsPerUser?: number;

  @IsOptional()
  @IsIn(['evict-oldest', 'reject'], { message: (a) => `must be 'evict-oldest' or 'reject', got ${describe(a.value)}`, ...hint("Use 'evict-oldest' (a new login ends the oldest session) or 'reject' (the login fails).") })
  onLimit?: 'evict-oldest' | 'reject';

  @IsOptional()
  @ValidateNested()
  binding?: BindingOptionsSchema;

  @IsOptional()
  @ValidateNested()
  csrf?: CsrfOptionsSchema;

  @IsOptional()
  @IsBoolean({ message: (a) => `must be true or false, got ${describe(a.value)}`, ...hint('Use true to add res.xLink() / res.xUnlink() to Express responses.') })
  expressHelpers?: boolean;

  @IsOptional()
  @IsBoolean({ message: (a) => `must be true or false, got ${describe(a.value)}`, ...hint('Use true to track the current request with AsyncLocalStorage (listSessions marks it current without being given the request).') })
  requestContext?: boolean;

  @IsOptional()
  @ValidateNested()
  persistence?: PersistenceOptionsSchema;

  // Checked by resolvePersistence (true, false or { id }).
  @Allow()
  hardwareBinding?: unknown;

  // Checked by resolveStore (its fields depend on its type; URLs are never echoed).
  @Allow()
  store?: unknown;

  @IsOptional()
  @ValidateNested()
  sidecar?: SidecarOptionsSchema;
}

/**
 * class-validator validates nested objects only when they are instances of a decorated class;
 * we build those instances ourselves (no class-transformer at run time). A non-object stays as
 * it is so that the nested validation reports it.
 */
function toSchema<T extends object>(ctor: new () => T, value: unknown): T | unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  return Object.assign(new ctor(), value);
}

function firstError(errors: ValidationError[], prefix = ''): { field: string; problem: string; hint: string } | undefined {
  for (const error of errors) {
    const field = prefix ? `${prefix}.${error.property}` : error.property;
    const constraints = error.constraints ?? {};
    const names = Object.keys(constraints);
    if (names.length > 0) {
      const name = names[0];
      if (name === 'whitelistValidation') {
        return {
          field,
          problem: 'is not a known option',
          hint: `Remove it or fix its spelling; known options are listed in the README's option table.`,
        };
      }
      if (name === 'nestedValidation') {
        return { field, problem: `must be an object, got ${describe(error.value)}`, hint: 'Pass an object (or leave the option out to use the defaults).' };
      }
      const contextHint = (error.contexts?.[name] as { hint?: string } | undefined)?.hint;
      return { field, problem: constraints[name], hint: contextHint ?? 'See the README option table.' };
    }
    const nested = firstError(error.children ?? [], field);
    if (nested) return nested;
  }
  return undefined;
}

function fail(field: string, problem: string, hintText: string): never {
  throw new XemsConfigError(field, problem, hintText);
}

/** Checks that need the whole object or character-level explanations beyond class-validator's rules. */
function checkCookie(cookie: XemsCookieOptions): void {
  if (cookie.name !== undefined && !COOKIE_NAME.test(cookie.name)) {
    fail(
      'cookie.name',
      `${describe(cookie.name)} contains a character not allowed in a cookie name (such as ; , = space or a control character) or is empty/too long`,
      "Use 1-128 characters from A-Z a-z 0-9 ! # $ % & ' * + - . ^ _ ` | ~, e.g. 'xems_token'.",
    );
  }
  if (cookie.path !== undefined && !COOKIE_PATH.test(cookie.path)) {
    fail('cookie.path', `${describe(cookie.path)} must start with / and contain no ; , = space or control character`, "Use a path such as '/' or '/app'.");
  }
  if (cookie.domain !== undefined && !COOKIE_DOMAIN.test(cookie.domain)) {
    fail('cookie.domain', `${describe(cookie.domain)} is not a host name (no ; , = space, control character, port or scheme)`, "Use a host name such as 'example.com', or leave it out for a host-only cookie.");
  }
  const secure = cookie.secure ?? XEMS_DEFAULTS.cookie.secure;
  if (cookie.sameSite === 'none' && !secure) {
    fail('cookie.sameSite', "'none' requires cookie.secure: true (browsers drop the cookie otherwise)", "Set cookie.secure: true, or use sameSite 'lax'/'strict'.");
  }
  const name = cookie.name ?? XEMS_DEFAULTS.cookie.name;
  if (name.startsWith('__Host-') && (!secure || (cookie.path ?? '/') !== '/' || cookie.domain !== undefined)) {
    fail('cookie.name', 'a __Host- cookie needs secure: true, path "/" and no domain', 'Fix those options or drop the __Host- prefix.');
  }
  if (name.startsWith('__Secure-') && !secure) {
    fail('cookie.name', 'a __Secure- cookie needs secure: true', 'Set cookie.secure: true or drop the __Secure- prefix.');
  }
}

/** CSRF options with defaults; the origins normalised to scheme://host[:port]. */
function resolveCsrf(given: XemsCsrfOptions): ResolvedXemsOptions['csrf'] {
  const header = given.header ?? XEMS_DEFAULTS.csrf.header;
  if (!HEADER_NAME.test(header)) {
    fail('csrf.header', `${describe(header)} is not a valid HTTP header name`, "Use letters, digits and dashes, e.g. 'x-csrf-token'.");
  }
  const field = given.field ?? XEMS_DEFAULTS.csrf.field;
  if (field.length === 0 || field.length > 128) fail('csrf.field', 'must be 1-128 characters', "Use a form field name such as '_csrf'.");
  let origins: string[] | undefined;
  if (given.origins !== undefined) {
    if (given.origins.length === 0) {
      fail('csrf.origins', 'is empty: no request could pass', "List the origins your pages are served from, e.g. ['https://app.example.com'], or leave the option out.");
    }
    origins = given.origins.map((o, i) => {
      let url: URL | undefined;
      try {
        url = new URL(o);
      } catch {
        url = undefined;
      }
      if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.pathname !== '/' || url.search || url.hash || url.username || !/^https?:\/\/[^/]+\/?$/i.test(o)) {
        fail(`csrf.origins[${i}]`, `${describe(o)} is not an origin (scheme://host[:port], no path)`, "Use e.g. 'https://app.example.com'.");
      }
      return url.origin;
    });
  }
  return { header: header.toLowerCase(), field, origins };
}

export interface ResolveOptionsHooks {
  /** Called once when the TTL is capped to 5 days. */
  warn?(message: string): void;
  /** Reads a machine-id file for hardwareBinding: true (tests inject one). */
  readMachineId?(path: string): string;
}

/**
 * Validates the user's options once, at start-up, and applies the defaults.
 * Throws XemsConfigError naming the first invalid field, its problem and the fix.
 */
export function resolveXemsOptions(raw: XemsModuleOptions | undefined, hooks: ResolveOptionsHooks = {}): ResolvedXemsOptions {
  const input: unknown = raw ?? {};
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    fail('(options)', `must be an object, got ${describe(input)}`, 'Pass an options object to XemsModule.forRoot(), or nothing for the defaults.');
  }
  const options = input as XemsModuleOptions;
  const schema = Object.assign(new XemsOptionsSchema(), options, {
    cookie: options.cookie === false ? false : toSchema(CookieOptionsSchema, options.cookie),
    persistence: toSchema(PersistenceOptionsSchema, options.persistence),
    binding: toSchema(BindingOptionsSchema, options.binding),
    csrf: toSchema(CsrfOptionsSchema, options.csrf),
    sidecar: toSchema(SidecarOptionsSchema, options.sidecar),
  });
  const errors = validateSync(schema, { whitelist: true, forbidNonWhitelisted: true });
  const first = firstError(errors);
  if (first) fail(first.field, first.problem, first.hint);

  const sandbox = options.sandbox ?? XEMS_DEFAULTS.sandbox;
  if (!XEMS_LIMITS.sandboxPattern.test(sandbox)) {
    fail('sandbox', `${describe(sandbox)} is not a valid sandbox name`, 'Use 1-64 characters from A-Z a-z 0-9 . _ : -');
  }

  let ttlMs = parseDuration(options.ttl ?? XEMS_DEFAULTS.ttl)!;
  if (ttlMs > XEMS_LIMITS.maxTtlMs) {
    hooks.warn?.(`XemsModule option "ttl" (${describe(options.ttl)}) is longer than 5 days: capped to 5 days.`);
    ttlMs = XEMS_LIMITS.maxTtlMs;
  }

  const autoRotation = options.autoRotation ?? XEMS_DEFAULTS.autoRotation;
  const rotation =
    typeof autoRotation === 'boolean'
      ? { enabled: autoRotation, minIntervalMs: 0 }
      : { enabled: true, minIntervalMs: parseDuration(autoRotation)! };

  let cookie: ResolvedCookieOptions | false = false;
  if (options.cookie !== false) {
    const given = options.cookie ?? {};
    checkCookie(given);
    cookie = {
      name: given.name ?? XEMS_DEFAULTS.cookie.name,
      path: given.path ?? XEMS_DEFAULTS.cookie.path,
      domain: given.domain ?? XEMS_DEFAULTS.cookie.domain,
      secure: given.secure ?? XEMS_DEFAULTS.cookie.secure,
      sameSite: given.sameSite ?? XEMS_DEFAULTS.cookie.sameSite,
    };
  }

  let header: string | false = false;
  if (options.header !== false) {
    header = options.header ?? XEMS_DEFAULTS.header;
    if (!HEADER_NAME.test(header)) {
      fail('header', `${describe(header)} is not a valid HTTP header name`, "Use letters, digits and dashes, e.g. 'x-xems-token'.");
    }
    header = header.toLowerCase();
  }
  const csrf = resolveCsrf(options.csrf ?? {});
  const binding = {
    ip: options.binding?.ip ?? XEMS_DEFAULTS.binding.ip,
    userAgent: options.binding?.userAgent ?? XEMS_DEFAULTS.binding.userAgent,
    onMismatch: options.binding?.onMismatch ?? XEMS_DEFAULTS.binding.onMismatch,
  };

  if (cookie === false && header === false) {
    fail('cookie', 'and "header" are both false: the token would have no way to reach the client', 'Keep the cookie (browsers), the header (other clients), or both.');
  }

  const persistence = resolvePersistence(options.persistence, options.hardwareBinding, hooks.readMachineId);

  const sc = options.sidecar ?? {};
  const requestTimeoutMs = parseDuration(sc.requestTimeout ?? XEMS_DEFAULTS.sidecar.requestTimeout)!;
  const store = resolveStore(options.store, options.persistence, options.hardwareBinding, requestTimeoutMs);
  return {
    sandbox,
    ttlMs,
    rotation,
    graceMs: parseDuration(options.gracePeriod ?? XEMS_DEFAULTS.gracePeriod)!,
    cookie,
    header,
    idleMs: options.idleTimeout === undefined || options.idleTimeout === false ? 0 : parseDuration(options.idleTimeout)!,
    maxSessionsPerUser: options.maxSessionsPerUser ?? XEMS_DEFAULTS.maxSessionsPerUser,
    onLimit: options.onLimit ?? XEMS_DEFAULTS.onLimit,
    binding: { ...binding, enabled: binding.ip !== 'off' || binding.userAgent },
    csrf,
    expressHelpers: options.expressHelpers ?? XEMS_DEFAULTS.expressHelpers,
    requestContext: options.requestContext ?? XEMS_DEFAULTS.requestContext,
    persistence,
    store,
    sidecar: {
      binaryPath: sc.binaryPath,
      startTimeoutMs: parseDuration(sc.startTimeout ?? XEMS_DEFAULTS.sidecar.startTimeout)!,
      requestTimeoutMs,
      shutdownTimeoutMs: parseDuration(sc.shutdownTimeout ?? XEMS_DEFAULTS.sidecar.shutdownTimeout)!,
      maxInFlight: sc.maxInFlight ?? XEMS_DEFAULTS.sidecar.maxInFlight,
      maxRestarts: sc.maxRestarts ?? XEMS_DEFAULTS.sidecar.maxRestarts,
    },
  };
}
