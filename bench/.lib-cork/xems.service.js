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
var __param = (this && this.__param) || function (paramIndex, decorator) {
    return function (target, key) { decorator(target, key, paramIndex); }
};
Object.defineProperty(exports, "__esModule", { value: true });
exports.XemsService = void 0;
exports.assertSandbox = assertSandbox;
const common_1 = require("@nestjs/common");
const rxjs_1 = require("rxjs");
const duration_util_1 = require("./duration.util");
const sidecar_api_1 = require("./sidecar/sidecar-api");
const sidecar_process_1 = require("./sidecar/sidecar-process");
const token_transport_1 = require("./token-transport");
const xems_context_1 = require("./xems.context");
const xems_defaults_1 = require("./xems.defaults");
const xems_errors_1 = require("./xems.errors");
const xems_internal_constants_1 = require("./xems.internal-constants");
function validationError(code, message, hint) {
    return new xems_errors_1.XemsValidationError(code, message, hint);
}
function assertSandbox(sandbox) {
    if (typeof sandbox !== 'string' || !xems_defaults_1.XEMS_LIMITS.sandboxPattern.test(sandbox)) {
        throw validationError('INVALID_SANDBOX', `Invalid sandbox name ${JSON.stringify(typeof sandbox === 'string' ? sandbox.slice(0, 80) : typeof sandbox)}`, 'Use 1-64 characters from A-Z a-z 0-9 . _ : -');
    }
}
function encodeJson(value, what) {
    let json;
    try {
        json = JSON.stringify(value);
    }
    catch (err) {
        throw new xems_errors_1.XemsValidationError('VALUE_NOT_SERIALIZABLE', `The ${what} cannot be serialized to JSON: ${err.message}`, 'Store plain data: objects, arrays, strings, numbers, booleans and null (no BigInt, no cycles).');
    }
    if (json === undefined) {
        throw new xems_errors_1.XemsValidationError('VALUE_NOT_SERIALIZABLE', `The ${what} is ${value === undefined ? 'undefined' : `a ${typeof value}`}, which JSON cannot represent`, 'Store null, or delete the key instead of storing undefined.');
    }
    return Buffer.from(json, 'utf8');
}
function decodeJson(bytes) {
    return JSON.parse(bytes.toString('utf8'));
}
function encodeKey(key) {
    if (typeof key !== 'string' || key.length === 0) {
        throw validationError('INVALID_KEY', 'A key must be a non-empty string', 'Pass a string key such as "otp:42".');
    }
    const bytes = Buffer.from(key, 'utf8');
    if (bytes.length > xems_defaults_1.XEMS_LIMITS.maxKeyBytes) {
        throw validationError('KEY_TOO_LARGE', `The key is ${bytes.length} bytes long; the limit is ${xems_defaults_1.XEMS_LIMITS.maxKeyBytes}`, 'Use a shorter key, e.g. a hash of the long one.');
    }
    return bytes;
}
/**
 * The module's API: sessions (create, resolve, update, revoke, link/unlink a request),
 * sandboxed key-value storage (`from(sandbox)`), device lists, and events. It also owns the
 * sidecar's life cycle: started in onModuleInit, stopped in onApplicationShutdown.
 */
let XemsService = class XemsService {
    options;
    logger = new common_1.Logger('Xems');
    eventSubject = new rxjs_1.Subject();
    /** Sidecar and session events; see XemsEvent. Sessions events carry ids, never tokens. */
    events$ = this.eventSubject.asObservable();
    /** @internal */
    sidecar;
    /** @internal Typed sidecar operations (used by the benchmarks). */
    api;
    /** @internal */
    transport;
    constructor(options) {
        this.options = options;
        this.sidecar = new sidecar_process_1.SidecarProcess({ ...options.sidecar, logLevel: 'info' }, this.logger, new common_1.Logger('XemsSidecar'), (event) => this.eventSubject.next(event));
        this.api = new sidecar_api_1.SidecarApi(this.sidecar);
        this.transport = new token_transport_1.TokenTransport(options);
    }
    async onModuleInit() {
        await this.sidecar.start();
        this.logger.log(`Sidecar ${this.sidecar.buildVersion ?? ''} started (pid ${this.sidecar.pid})`);
    }
    async onApplicationShutdown() {
        await this.sidecar.shutdown();
        this.eventSubject.complete();
    }
    // ---------------------------------------------------------------- key-value
    /** A key-value store bound to `sandbox`. */
    from(sandbox) {
        assertSandbox(sandbox);
        const api = this.api;
        const defaultTtl = this.options.ttlMs;
        const service = this;
        return {
            sandbox,
            async set(key, value, ttl) {
                const k = encodeKey(key);
                await api.kvSet(sandbox, k, encodeJson(value, 'value'), service.ttlMs(ttl, defaultTtl));
            },
            async get(key) {
                const entry = await api.kvGet(sandbox, encodeKey(key));
                if (entry)
                    return decodeJson(entry.value);
                if (!xems_internal_constants_1.TOKEN_PATTERN.test(key))
                    return null;
                const session = await service.resolveSession(key, { sandbox });
                return session ? session.data : null;
            },
            async del(key) {
                if (await api.kvDel(sandbox, encodeKey(key)))
                    return true;
                if (!xems_internal_constants_1.TOKEN_PATTERN.test(key))
                    return false;
                return service.revokeSession(key, { sandbox });
            },
            async has(key) {
                return api.kvHas(sandbox, encodeKey(key));
            },
            async ttl(key) {
                return api.kvTtl(sandbox, encodeKey(key));
            },
            async touch(key, ttl) {
                const k = encodeKey(key);
                return (await api.kvTouch(sandbox, k, service.ttlMs(ttl, defaultTtl))) !== null;
            },
        };
    }
    // ---------------------------------------------------------------- sessions
    /** Creates a session holding `data` (any JSON value) and returns its token. */
    async createSession(sandbox, data, options = {}) {
        return (await this.create(sandbox, data, options)).token;
    }
    /**
     * Resolves a token: its data, the current token and expiry, or null when the token is
     * unknown, expired, revoked, or reused after its grace window (which revokes the session).
     */
    async resolveSession(token, options = {}) {
        const sandbox = options.sandbox ?? this.options.sandbox;
        assertSandbox(sandbox);
        if (typeof token !== 'string' || !xems_internal_constants_1.TOKEN_PATTERN.test(token))
            return null;
        const graceMs = options.gracePeriod === undefined ? this.options.graceMs : this.durationMs(options.gracePeriod, 'gracePeriod', 0, xems_defaults_1.XEMS_LIMITS.maxGraceMs);
        const minIntervalMs = options.minRotateInterval === undefined ? 0 : this.durationMs(options.minRotateInterval, 'minRotateInterval', 0, xems_defaults_1.XEMS_LIMITS.maxTtlMs);
        const result = await this.api.sResolve(sandbox, token, options.rotate === true, graceMs, minIntervalMs);
        if (result.status === 'not_found')
            return null;
        if (result.status === 'reused') {
            this.logger.warn(`Token reuse detected in sandbox ${sandbox}: session ${result.sessionId} revoked`);
            this.eventSubject.next({ type: 'session.reused', sandbox, sessionId: result.sessionId });
            return null;
        }
        if (result.rotated)
            this.eventSubject.next({ type: 'session.rotated', sandbox, sessionId: result.sessionId });
        return {
            data: decodeJson(result.data),
            token: result.token,
            rotated: result.rotated,
            expiresAt: result.expiresAt,
            id: result.sessionId,
        };
    }
    /**
     * Replaces the session's data. `target` is a token, or the request whose session (set by
     * SessionGuard or link) to update: then @Session()/getSession() in the same request see the
     * new data too. False when the session is dead.
     */
    async updateSession(target, data, options = {}) {
        const bytes = encodeJson(data, 'session data');
        let state;
        let token;
        let sandbox;
        if (typeof target === 'string') {
            token = target;
            sandbox = options.sandbox ?? this.options.sandbox;
            state = this.currentState();
        }
        else {
            state = this.transport.peek(target);
            if (!state?.session)
                return false;
            token = state.session.token;
            sandbox = options.sandbox ?? state.session.sandbox;
        }
        assertSandbox(sandbox);
        if (!xems_internal_constants_1.TOKEN_PATTERN.test(token))
            return false;
        const expiresAt = await this.api.sUpdate(sandbox, token, bytes);
        if (expiresAt === null)
            return false;
        const active = state?.session;
        if (active && active.sandbox === sandbox && (active.token === token || state?.presented?.token === token)) {
            active.data = decodeJson(bytes);
            active.expiresAt = expiresAt;
        }
        return true;
    }
    /** Revokes the session of `token` (any of its tokens, including those in the grace window). */
    async revokeSession(token, options = {}) {
        const sandbox = options.sandbox ?? this.options.sandbox;
        assertSandbox(sandbox);
        if (typeof token !== 'string' || !xems_internal_constants_1.TOKEN_PATTERN.test(token))
            return false;
        const existed = await this.api.sRevoke(sandbox, token);
        if (existed)
            this.eventSubject.next({ type: 'session.revoked', sandbox });
        return existed;
    }
    /**
     * Logs a request in (XEMS's xLink): revokes the session the request carried (a login never
     * keeps a pre-login token), creates a session, sends its token the way the client speaks
     * (cookie, or the header when the request used the header), makes it the request's session
     * (getSession(req), @Session() in later-running code, listSessions) and returns the token.
     */
    async link(req, res, data, sandboxOrOptions) {
        const options = typeof sandboxOrOptions === 'string' ? { sandbox: sandboxOrOptions } : (sandboxOrOptions ?? {});
        const sandbox = options.sandbox ?? this.options.sandbox;
        assertSandbox(sandbox);
        this.assertHeadersNotSent(res, 'link');
        const bytes = encodeJson(data, 'session data');
        const state = this.transport.state(req);
        await this.revokeRequestSession(req, state, sandbox);
        const ip = req.ip ?? req.socket?.remoteAddress;
        const userAgent = req.headers['user-agent'];
        const created = await this.create(sandbox, data, { ttl: options.ttl, userId: options.userId, meta: { ip, userAgent } }, bytes);
        state.session = { sandbox, id: created.sessionId, token: created.token, data: decodeJson(bytes), expiresAt: created.expiresAt };
        state.via = this.transport.replyVia(req, state);
        state.cleared = false;
        this.transport.arm(req, res);
        return created.token;
    }
    /**
     * Logs a request out (XEMS's xUnlink): revokes its session (tokens in the grace window die
     * with it), clears the cookie (same name, path and domain, expired) and drops the token
     * header. Idempotent.
     */
    async unlink(req, res) {
        this.assertHeadersNotSent(res, 'unlink');
        const state = this.transport.state(req);
        await this.revokeRequestSession(req, state, this.options.sandbox);
        state.session = undefined;
        state.cleared = true;
        this.transport.arm(req, res);
    }
    /** The data of the request's session (set by SessionGuard or link), or undefined. */
    getSession(req) {
        return this.transport.peek(req)?.session?.data;
    }
    // ---------------------------------------------------------------- devices
    /**
     * The live sessions of `userId` (created with a userId), newest first. `current` (a token or
     * a session id) marks one as current; by default the session of the request being handled.
     */
    async listSessions(userId, options = {}) {
        const sandbox = options.sandbox ?? this.options.sandbox;
        assertSandbox(sandbox);
        this.assertUserId(userId);
        const currentId = await this.currentSessionId(sandbox, options.current);
        const sessions = await this.api.sList(sandbox, userId);
        return sessions
            .map((s) => {
            const meta = this.parseMeta(s.meta);
            return {
                id: s.sessionId,
                createdAt: s.createdAt,
                lastSeenAt: s.lastSeenAt,
                expiresAt: s.expiresAt,
                ip: meta.ip,
                userAgent: meta.userAgent,
                current: s.sessionId === currentId,
            };
        })
            .sort((a, b) => b.createdAt - a.createdAt);
    }
    /** Revokes one session by its public id (a devices page). True if it existed. */
    async revokeSessionById(id, options = {}) {
        const sandbox = options.sandbox ?? this.options.sandbox;
        assertSandbox(sandbox);
        if (typeof id !== 'string' || id.length === 0 || id.length > 256)
            return false;
        const existed = await this.api.sRevokeId(sandbox, id);
        if (existed)
            this.eventSubject.next({ type: 'session.revoked', sandbox, sessionId: id });
        return existed;
    }
    /**
     * Revokes every session of `userId` ("log out everywhere"), except `except` (a token or a
     * session id) when given. Returns how many were revoked.
     */
    async revokeSessions(userId, options = {}) {
        const sandbox = options.sandbox ?? this.options.sandbox;
        assertSandbox(sandbox);
        this.assertUserId(userId);
        const except = options.except;
        if (except === undefined || except === '' || xems_internal_constants_1.TOKEN_PATTERN.test(except)) {
            return this.api.sRevokeAll(sandbox, userId, except ?? '');
        }
        let revoked = 0;
        for (const session of await this.api.sList(sandbox, userId)) {
            if (session.sessionId !== except && (await this.api.sRevokeId(sandbox, session.sessionId)))
                revoked++;
        }
        return revoked;
    }
    /** Counters and sizes reported by the sidecar (STATS). */
    async stats() {
        return this.api.stats();
    }
    // ---------------------------------------------------------------- internals
    async create(sandbox, data, options, bytes = encodeJson(data, 'session data')) {
        assertSandbox(sandbox);
        if (options.userId !== undefined)
            this.assertUserId(options.userId);
        const ttlMs = this.ttlMs(options.ttl, this.options.ttlMs);
        const meta = options.meta
            ? Buffer.from(JSON.stringify({ ip: options.meta.ip, userAgent: options.meta.userAgent, createdAt: Date.now() }), 'utf8')
            : undefined;
        const created = await this.api.sCreate(sandbox, bytes, ttlMs, 0, options.userId ?? '', meta);
        this.eventSubject.next({ type: 'session.created', sandbox, sessionId: created.sessionId });
        return created;
    }
    /** Revokes whatever session the request carries or was given in this request. */
    async revokeRequestSession(req, state, sandbox) {
        const targets = new Map();
        const add = (token, inSandbox) => {
            if (!token)
                return;
            if (!targets.has(token))
                targets.set(token, new Set());
            targets.get(token).add(inSandbox);
        };
        const active = state.session;
        if (active)
            add(active.token, active.sandbox);
        const presented = state.presented?.token ?? this.presentedToken(req);
        // Which sandbox an unguarded request's token lives in is unknown: try the likely ones.
        if (presented) {
            add(presented, active?.sandbox ?? sandbox);
            add(presented, this.options.sandbox);
            add(presented, sandbox);
        }
        for (const [token, sandboxes] of targets) {
            for (const s of sandboxes)
                await this.revokeSession(token, { sandbox: s });
        }
    }
    presentedToken(req) {
        const lookup = this.transport.read(req);
        return lookup.kind === 'token' ? lookup.token : undefined;
    }
    currentState() {
        const req = xems_context_1.xemsRequestContext.getStore();
        return req ? this.transport.peek(req) : undefined;
    }
    async currentSessionId(sandbox, current) {
        if (current !== undefined) {
            if (!xems_internal_constants_1.TOKEN_PATTERN.test(current))
                return current;
            return (await this.resolveSession(current, { sandbox }))?.id;
        }
        const session = this.currentState()?.session;
        return session && session.sandbox === sandbox ? session.id : undefined;
    }
    parseMeta(bytes) {
        if (bytes.length === 0)
            return {};
        try {
            const meta = JSON.parse(bytes.toString('utf8'));
            return {
                ip: typeof meta.ip === 'string' ? meta.ip : undefined,
                userAgent: typeof meta.userAgent === 'string' ? meta.userAgent : undefined,
            };
        }
        catch {
            return {};
        }
    }
    assertUserId(userId) {
        if (typeof userId !== 'string' || userId.length === 0 || Buffer.byteLength(userId) > 1024) {
            throw validationError('INVALID_USER_ID', 'A userId must be a non-empty string of at most 1024 bytes', 'Pass the user\'s stable id as a string, e.g. String(user.id).');
        }
    }
    assertHeadersNotSent(res, method) {
        if (res.headersSent) {
            throw new xems_errors_1.XemsError('HEADERS_SENT', `XemsService.${method}() was called after the response headers were sent`, `Call ${method}() before writing the response body.`);
        }
    }
    ttlMs(ttl, fallback) {
        return ttl === undefined ? fallback : this.durationMs(ttl, 'ttl', 1, xems_defaults_1.XEMS_LIMITS.maxTtlMs);
    }
    durationMs(value, field, min, max) {
        const ms = (0, duration_util_1.parseDuration)(value);
        if (ms === undefined || ms < min || ms > max) {
            throw validationError(field === 'ttl' ? 'INVALID_TTL' : 'INVALID_DURATION', `Invalid ${field} ${JSON.stringify(value)}: expected a duration between ${min} and ${max} ms`, "Use a number of milliseconds or a string such as '30s', '15m', '1h' (at most 5 days for a TTL, 60 s for a grace period).");
        }
        return ms;
    }
};
exports.XemsService = XemsService;
exports.XemsService = XemsService = __decorate([
    (0, common_1.Injectable)(),
    __param(0, (0, common_1.Inject)(xems_internal_constants_1.XEMS_RESOLVED_OPTIONS)),
    __metadata("design:paramtypes", [Object])
], XemsService);
//# sourceMappingURL=xems.service.js.map