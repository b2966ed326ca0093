import {
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

/** Accepted in this shape now; the persistence issue implements it (enabled: true is refused until then). */
export interface XemsPersistenceOptions {
  enabled?: boolean;
  secret?: string;
  path?: string;
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
  persistence?: XemsPersistenceOptions;
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
  persistence: { enabled: false; path?: string };
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

  // Never echo the secret's value in an error message.
  @IsOptional()
  @IsString({ message: 'must be a string', ...hint('Pass the secret from the environment, e.g. process.env.XEMS_SECRET.') })
  secret?: string;

  @IsOptional()
  @IsString({ message: (a) => `must be a string, got ${describe(a.value)}`, ...hint('Use a file path.') })
  path?: string;
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
  @ValidateNested()
  persistence?: PersistenceOptionsSchema;

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

export interface ResolveOptionsHooks {
  /** Called once when the TTL is capped to 5 days. */
  warn?(message: string): void;
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
  if (cookie === false && header === false) {
    fail('cookie', 'and "header" are both false: the token would have no way to reach the client', 'Keep the cookie (browsers), the header (other clients), or both.');
  }

  if (options.persistence?.enabled === true) {
    fail(
      'persistence.enabled',
      'persistence is not implemented in this version of nestjs-xems (sessions live in memory only)',
      'Remove persistence.enabled or set it to false; a later version adds the encrypted vault.',
    );
  }

  const sc = options.sidecar ?? {};
  return {
    sandbox,
    ttlMs,
    rotation,
    graceMs: parseDuration(options.gracePeriod ?? XEMS_DEFAULTS.gracePeriod)!,
    cookie,
    header,
    persistence: { enabled: false, path: options.persistence?.path },
    sidecar: {
      binaryPath: sc.binaryPath,
      startTimeoutMs: parseDuration(sc.startTimeout ?? XEMS_DEFAULTS.sidecar.startTimeout)!,
      requestTimeoutMs: parseDuration(sc.requestTimeout ?? XEMS_DEFAULTS.sidecar.requestTimeout)!,
      shutdownTimeoutMs: parseDuration(sc.shutdownTimeout ?? XEMS_DEFAULTS.sidecar.shutdownTimeout)!,
      maxInFlight: sc.maxInFlight ?? XEMS_DEFAULTS.sidecar.maxInFlight,
      maxRestarts: sc.maxRestarts ?? XEMS_DEFAULTS.sidecar.maxRestarts,
    },
  };
}
