"use strict";
var __decorate = (this && this.__decorate) || function (decorators, target, key, desc) {
    var c = arguments.length, r = c < 3 ? target : desc === null ? desc = Object.getOwnPropertyDescriptor(target, key) : desc, d;
    if (typeof Reflect === "object" && typeof Reflect.decorate === "function") r = Reflect.decorate(decorators, target, key, desc);
    else for (var i = decorators.length - 1; i >= 0; i--) if (d = decorators[i]) r = (c < 3 ? d(r) : c > 3 ? d(target, key, r) : d(target, key)) || r;
    return c > 3 && r && Object.defineProperty(target, key, r), r;
};
var __metadata = (this && this.__metadata) || function (k, v) {
    if (typeof Reflect === "object" && typeof Reflect.metadata === "function") return Reflect.metadata(k, v);
};
Object.defineProperty(exports, "__esModule", { value: true });
exports.resolveXemsOptions = resolveXemsOptions;
const class_validator_1 = require("class-validator");
const duration_util_1 = require("./duration.util");
const xems_defaults_1 = require("./xems.defaults");
const xems_errors_1 = require("./xems.errors");
// RFC 6265 cookie-name (an RFC 7230 token): this refuses ; , = spaces and control characters.
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,128}$/;
// Printable ASCII without ; , = or space.
const COOKIE_PATH = /^\/[!-+\--:<>-~]*$/;
const COOKIE_DOMAIN = /^\.?[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,128}$/;
function hint(text) {
    return { context: { hint: text } };
}
/** A duration option (number of ms or `<digits><unit>`), within [min, max] milliseconds. */
function IsXemsDuration(min, max, hintText) {
    return (target, propertyName) => {
        (0, class_validator_1.registerDecorator)({
            name: 'isXemsDuration',
            target: target.constructor,
            propertyName: propertyName,
            constraints: [min, max],
            options: hint(hintText),
            validator: {
                validate(value) {
                    const ms = (0, duration_util_1.parseDuration)(value);
                    return ms !== undefined && ms >= min && ms <= max;
                },
                defaultMessage(args) {
                    const ms = (0, duration_util_1.parseDuration)(args.value);
                    if (ms === undefined) {
                        return `${describe(args.value)} is not a duration (a number of milliseconds, or a string like '30s')`;
                    }
                    return `${describe(args.value)} is ${ms} ms, outside ${min}..${max} ms`;
                },
            },
        });
    };
}
function describe(value) {
    if (typeof value === 'string')
        return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}...` : value);
    if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) {
        return String(value);
    }
    return `a value of type ${Array.isArray(value) ? 'array' : typeof value}`;
}
const DURATION_HINT = "Use a number of milliseconds or a string matching ^\\d+(ms|s|m|h|d)$, e.g. '30s' or '1h'.";
class CookieOptionsSchema {
    // Character rules are checked by checkCookie() with a precise message.
    name;
    path;
    domain;
    secure;
    sameSite;
    // Not part of XemsCookieOptions: accepted only as `true`, so a JavaScript caller passing
    // `httpOnly: false` learns why it is refused instead of reading "unknown option".
    httpOnly;
}
__decorate([
    (0, class_validator_1.IsOptional)(),
    (0, class_validator_1.IsString)({ message: (a) => `must be a string, got ${describe(a.value)}`, ...hint('Use a short ASCII name such as "xems_token".') }),
    __metadata("design:type", String)
], CookieOptionsSchema.prototype, "name", void 0);
__decorate([
    (0, class_validator_1.IsOptional)(),
    (0, class_validator_1.IsString)({ message: (a) => `must be a string, got ${describe(a.value)}`, ...hint('Use a path such as "/".') }),
    __metadata("design:type", String)
], CookieOptionsSchema.prototype, "path", void 0);
__decorate([
    (0, class_validator_1.IsOptional)(),
    (0, class_validator_1.IsString)({ message: (a) => `must be a string, got ${describe(a.value)}`, ...hint('Use a host name such as "example.com", or leave it out for a host-only cookie.') }),
    __metadata("design:type", String)
], CookieOptionsSchema.prototype, "domain", void 0);
__decorate([
    (0, class_validator_1.IsOptional)(),
    (0, class_validator_1.IsBoolean)({ message: (a) => `must be true or false, got ${describe(a.value)}`, ...hint('Keep the default (true) in production: the token must never travel over plain HTTP.') }),
    __metadata("design:type", Boolean)
], CookieOptionsSchema.prototype, "secure", void 0);
__decorate([
    (0, class_validator_1.IsOptional)(),
    (0, class_validator_1.IsIn)(['strict', 'lax', 'none'], {
        message: (a) => `must be 'strict', 'lax' or 'none', got ${describe(a.value)}`,
        ...hint("Use 'strict' (default) unless cross-site navigation must carry the session ('lax').")
    }),
    __metadata("design:type", String)
], CookieOptionsSchema.prototype, "sameSite", void 0);
__decorate([
    (0, class_validator_1.IsOptional)(),
    (0, class_validator_1.IsIn)([true], {
        message: 'cannot be false: the session cookie is always HttpOnly',
        ...hint('Remove cookie.httpOnly; page scripts must never read the token.'),
    }),
    __metadata("design:type", Boolean)
], CookieOptionsSchema.prototype, "httpOnly", void 0);
class PersistenceOptionsSchema {
    enabled;
    // Never echo the secret's value in an error message.
    secret;
    path;
}
__decorate([
    (0, class_validator_1.IsOptional)(),
    (0, class_validator_1.IsBoolean)({ message: (a) => `must be true or false, got ${describe(a.value)}`, ...hint('Use true or false.') }),
    __metadata("design:type", Boolean)
], PersistenceOptionsSchema.prototype, "enabled", void 0);
__decorate([
    (0, class_validator_1.IsOptional)(),
    (0, class_validator_1.IsString)({ message: 'must be a string', ...hint('Pass the secret from the environment, e.g. process.env.XEMS_SECRET.') }),
    __metadata("design:type", String)
], PersistenceOptionsSchema.prototype, "secret", void 0);
__decorate([
    (0, class_validator_1.IsOptional)(),
    (0, class_validator_1.IsString)({ message: (a) => `must be a string, got ${describe(a.value)}`, ...hint('Use a file path.') }),
    __metadata("design:type", String)
], PersistenceOptionsSchema.prototype, "path", void 0);
class SidecarOptionsSchema {
    binaryPath;
    startTimeout;
    requestTimeout;
    shutdownTimeout;
    maxInFlight;
    maxRestarts;
}
__decorate([
    (0, class_validator_1.IsOptional)(),
    (0, class_validator_1.IsString)({ message: (a) => `must be a string, got ${describe(a.value)}`, ...hint('Use the path of an xems-sidecar binary, or leave it out to use the one inside the package.') }),
    __metadata("design:type", String)
], SidecarOptionsSchema.prototype, "binaryPath", void 0);
__decorate([
    (0, class_validator_1.IsOptional)(),
    IsXemsDuration(1, 600_000, `Use a duration up to 10 minutes, e.g. '5s'. ${DURATION_HINT}`),
    __metadata("design:type", Object)
], SidecarOptionsSchema.prototype, "startTimeout", void 0);
__decorate([
    (0, class_validator_1.IsOptional)(),
    IsXemsDuration(1, 600_000, `Use a duration up to 10 minutes, e.g. '2s'. ${DURATION_HINT}`),
    __metadata("design:type", Object)
], SidecarOptionsSchema.prototype, "requestTimeout", void 0);
__decorate([
    (0, class_validator_1.IsOptional)(),
    IsXemsDuration(1, 600_000, `Use a duration up to 10 minutes, e.g. '3s'. ${DURATION_HINT}`),
    __metadata("design:type", Object)
], SidecarOptionsSchema.prototype, "shutdownTimeout", void 0);
__decorate([
    (0, class_validator_1.IsOptional)(),
    (0, class_validator_1.IsInt)({ message: (a) => `must be an integer, got ${describe(a.value)}`, ...hint('Use an integer between 1 and 1000000.') }),
    (0, class_validator_1.Min)(1, { message: (a) => `must be at least 1, got ${describe(a.value)}`, ...hint('Use an integer between 1 and 1000000.') }),
    (0, class_validator_1.Max)(1_000_000, { message: (a) => `must be at most 1000000, got ${describe(a.value)}`, ...hint('Use an integer between 1 and 1000000.') }),
    __metadata("design:type", Number)
], SidecarOptionsSchema.prototype, "maxInFlight", void 0);
__decorate([
    (0, class_validator_1.IsOptional)(),
    (0, class_validator_1.IsInt)({ message: (a) => `must be an integer, got ${describe(a.value)}`, ...hint('Use an integer between 0 (never restart) and 1000.') }),
    (0, class_validator_1.Min)(0, { message: (a) => `must be at least 0, got ${describe(a.value)}`, ...hint('Use an integer between 0 (never restart) and 1000.') }),
    (0, class_validator_1.Max)(1000, { message: (a) => `must be at most 1000, got ${describe(a.value)}`, ...hint('Use an integer between 0 (never restart) and 1000.') }),
    __metadata("design:type", Number)
], SidecarOptionsSchema.prototype, "maxRestarts", void 0);
class XemsOptionsSchema {
    sandbox;
    ttl;
    autoRotation;
    gracePeriod;
    cookie;
    header;
    persistence;
    sidecar;
}
__decorate([
    (0, class_validator_1.IsOptional)(),
    (0, class_validator_1.IsString)({ message: (a) => `must be a string, got ${describe(a.value)}`, ...hint('Use 1-64 characters from A-Z a-z 0-9 . _ : -') }),
    __metadata("design:type", String)
], XemsOptionsSchema.prototype, "sandbox", void 0);
__decorate([
    (0, class_validator_1.IsOptional)(),
    IsXemsDuration(1, Number.MAX_SAFE_INTEGER, `Use a positive duration, e.g. '1h' (more than 5 days is capped to 5 days). ${DURATION_HINT}`),
    __metadata("design:type", Object)
], XemsOptionsSchema.prototype, "ttl", void 0);
__decorate([
    (0, class_validator_1.IsOptional)(),
    (0, class_validator_1.ValidateIf)((_o, v) => typeof v !== 'boolean'),
    IsXemsDuration(0, xems_defaults_1.XEMS_LIMITS.maxTtlMs, `Use true (rotate on every request), false (never) or a duration such as '30s'. ${DURATION_HINT}`),
    __metadata("design:type", Object)
], XemsOptionsSchema.prototype, "autoRotation", void 0);
__decorate([
    (0, class_validator_1.IsOptional)(),
    IsXemsDuration(0, xems_defaults_1.XEMS_LIMITS.maxGraceMs, `Use a duration between 0 and 60 s, e.g. 2000 or '2s'. ${DURATION_HINT}`),
    __metadata("design:type", Object)
], XemsOptionsSchema.prototype, "gracePeriod", void 0);
__decorate([
    (0, class_validator_1.IsOptional)(),
    (0, class_validator_1.ValidateIf)((_o, v) => v !== false),
    (0, class_validator_1.ValidateNested)(),
    __metadata("design:type", Object)
], XemsOptionsSchema.prototype, "cookie", void 0);
__decorate([
    (0, class_validator_1.IsOptional)(),
    (0, class_validator_1.ValidateIf)((_o, v) => v !== false),
    (0, class_validator_1.IsString)({ message: (a) => `must be a header name or false, got ${describe(a.value)}`, ...hint("Use a header name such as 'x-xems-token', or false to turn the header transport off.") }),
    __metadata("design:type", Object)
], XemsOptionsSchema.prototype, "header", void 0);
__decorate([
    (0, class_validator_1.IsOptional)(),
    (0, class_validator_1.ValidateNested)(),
    __metadata("design:type", PersistenceOptionsSchema)
], XemsOptionsSchema.prototype, "persistence", void 0);
__decorate([
    (0, class_validator_1.IsOptional)(),
    (0, class_validator_1.ValidateNested)(),
    __metadata("design:type", SidecarOptionsSchema)
], XemsOptionsSchema.prototype, "sidecar", void 0);
/**
 * class-validator validates nested objects only when they are instances of a decorated class;
 * we build those instances ourselves (no class-transformer at run time). A non-object stays as
 * it is so that the nested validation reports it.
 */
function toSchema(ctor, value) {
    if (value === null || typeof value !== 'object' || Array.isArray(value))
        return value;
    return Object.assign(new ctor(), value);
}
function firstError(errors, prefix = '') {
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
            const contextHint = error.contexts?.[name]?.hint;
            return { field, problem: constraints[name], hint: contextHint ?? 'See the README option table.' };
        }
        const nested = firstError(error.children ?? [], field);
        if (nested)
            return nested;
    }
    return undefined;
}
function fail(field, problem, hintText) {
    throw new xems_errors_1.XemsConfigError(field, problem, hintText);
}
/** Checks that need the whole object or character-level explanations beyond class-validator's rules. */
function checkCookie(cookie) {
    if (cookie.name !== undefined && !COOKIE_NAME.test(cookie.name)) {
        fail('cookie.name', `${describe(cookie.name)} contains a character not allowed in a cookie name (such as ; , = space or a control character) or is empty/too long`, "Use 1-128 characters from A-Z a-z 0-9 ! # $ % & ' * + - . ^ _ ` | ~, e.g. 'xems_token'.");
    }
    if (cookie.path !== undefined && !COOKIE_PATH.test(cookie.path)) {
        fail('cookie.path', `${describe(cookie.path)} must start with / and contain no ; , = space or control character`, "Use a path such as '/' or '/app'.");
    }
    if (cookie.domain !== undefined && !COOKIE_DOMAIN.test(cookie.domain)) {
        fail('cookie.domain', `${describe(cookie.domain)} is not a host name (no ; , = space, control character, port or scheme)`, "Use a host name such as 'example.com', or leave it out for a host-only cookie.");
    }
    const secure = cookie.secure ?? xems_defaults_1.XEMS_DEFAULTS.cookie.secure;
    if (cookie.sameSite === 'none' && !secure) {
        fail('cookie.sameSite', "'none' requires cookie.secure: true (browsers drop the cookie otherwise)", "Set cookie.secure: true, or use sameSite 'lax'/'strict'.");
    }
    const name = cookie.name ?? xems_defaults_1.XEMS_DEFAULTS.cookie.name;
    if (name.startsWith('__Host-') && (!secure || (cookie.path ?? '/') !== '/' || cookie.domain !== undefined)) {
        fail('cookie.name', 'a __Host- cookie needs secure: true, path "/" and no domain', 'Fix those options or drop the __Host- prefix.');
    }
    if (name.startsWith('__Secure-') && !secure) {
        fail('cookie.name', 'a __Secure- cookie needs secure: true', 'Set cookie.secure: true or drop the __Secure- prefix.');
    }
}
/**
 * Validates the user's options once, at start-up, and applies the defaults.
 * Throws XemsConfigError naming the first invalid field, its problem and the fix.
 */
function resolveXemsOptions(raw, hooks = {}) {
    const input = raw ?? {};
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
        fail('(options)', `must be an object, got ${describe(input)}`, 'Pass an options object to XemsModule.forRoot(), or nothing for the defaults.');
    }
    const options = input;
    const schema = Object.assign(new XemsOptionsSchema(), options, {
        cookie: options.cookie === false ? false : toSchema(CookieOptionsSchema, options.cookie),
        persistence: toSchema(PersistenceOptionsSchema, options.persistence),
        sidecar: toSchema(SidecarOptionsSchema, options.sidecar),
    });
    const errors = (0, class_validator_1.validateSync)(schema, { whitelist: true, forbidNonWhitelisted: true });
    const first = firstError(errors);
    if (first)
        fail(first.field, first.problem, first.hint);
    const sandbox = options.sandbox ?? xems_defaults_1.XEMS_DEFAULTS.sandbox;
    if (!xems_defaults_1.XEMS_LIMITS.sandboxPattern.test(sandbox)) {
        fail('sandbox', `${describe(sandbox)} is not a valid sandbox name`, 'Use 1-64 characters from A-Z a-z 0-9 . _ : -');
    }
    let ttlMs = (0, duration_util_1.parseDuration)(options.ttl ?? xems_defaults_1.XEMS_DEFAULTS.ttl);
    if (ttlMs > xems_defaults_1.XEMS_LIMITS.maxTtlMs) {
        hooks.warn?.(`XemsModule option "ttl" (${describe(options.ttl)}) is longer than 5 days: capped to 5 days.`);
        ttlMs = xems_defaults_1.XEMS_LIMITS.maxTtlMs;
    }
    const autoRotation = options.autoRotation ?? xems_defaults_1.XEMS_DEFAULTS.autoRotation;
    const rotation = typeof autoRotation === 'boolean'
        ? { enabled: autoRotation, minIntervalMs: 0 }
        : { enabled: true, minIntervalMs: (0, duration_util_1.parseDuration)(autoRotation) };
    let cookie = false;
    if (options.cookie !== false) {
        const given = options.cookie ?? {};
        checkCookie(given);
        cookie = {
            name: given.name ?? xems_defaults_1.XEMS_DEFAULTS.cookie.name,
            path: given.path ?? xems_defaults_1.XEMS_DEFAULTS.cookie.path,
            domain: given.domain ?? xems_defaults_1.XEMS_DEFAULTS.cookie.domain,
            secure: given.secure ?? xems_defaults_1.XEMS_DEFAULTS.cookie.secure,
            sameSite: given.sameSite ?? xems_defaults_1.XEMS_DEFAULTS.cookie.sameSite,
        };
    }
    let header = false;
    if (options.header !== false) {
        header = options.header ?? xems_defaults_1.XEMS_DEFAULTS.header;
        if (!HEADER_NAME.test(header)) {
            fail('header', `${describe(header)} is not a valid HTTP header name`, "Use letters, digits and dashes, e.g. 'x-xems-token'.");
        }
        header = header.toLowerCase();
    }
    if (cookie === false && header === false) {
        fail('cookie', 'and "header" are both false: the token would have no way to reach the client', 'Keep the cookie (browsers), the header (other clients), or both.');
    }
    if (options.persistence?.enabled === true) {
        fail('persistence.enabled', 'persistence is not implemented in this version of nestjs-xems (sessions live in memory only)', 'Remove persistence.enabled or set it to false; a later version adds the encrypted vault.');
    }
    const sc = options.sidecar ?? {};
    return {
        sandbox,
        ttlMs,
        rotation,
        graceMs: (0, duration_util_1.parseDuration)(options.gracePeriod ?? xems_defaults_1.XEMS_DEFAULTS.gracePeriod),
        cookie,
        header,
        persistence: { enabled: false, path: options.persistence?.path },
        sidecar: {
            binaryPath: sc.binaryPath,
            startTimeoutMs: (0, duration_util_1.parseDuration)(sc.startTimeout ?? xems_defaults_1.XEMS_DEFAULTS.sidecar.startTimeout),
            requestTimeoutMs: (0, duration_util_1.parseDuration)(sc.requestTimeout ?? xems_defaults_1.XEMS_DEFAULTS.sidecar.requestTimeout),
            shutdownTimeoutMs: (0, duration_util_1.parseDuration)(sc.shutdownTimeout ?? xems_defaults_1.XEMS_DEFAULTS.sidecar.shutdownTimeout),
            maxInFlight: sc.maxInFlight ?? xems_defaults_1.XEMS_DEFAULTS.sidecar.maxInFlight,
            maxRestarts: sc.maxRestarts ?? xems_defaults_1.XEMS_DEFAULTS.sidecar.maxRestarts,
        },
    };
}
//# sourceMappingURL=xems.options.js.map