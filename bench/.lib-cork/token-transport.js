"use strict";
var __importDefault = (this && this.__importDefault) || function (mod) {
    return (mod && mod.__esModule) ? mod : { "default": mod };
};
Object.defineProperty(exports, "__esModule", { value: true });
exports.TokenTransport = void 0;
const cookie_1 = require("cookie");
const on_headers_1 = __importDefault(require("on-headers"));
const xems_internal_constants_1 = require("./xems.internal-constants");
function isDuplicated(rawCookieHeader, name) {
    // cookie.parse keeps the first of several same-named cookies; a second one (e.g. planted by
    // a sibling subdomain: cookie tossing) makes the request ambiguous, so it is refused.
    let count = 0;
    for (const part of rawCookieHeader.split(';')) {
        const eq = part.indexOf('=');
        if (eq !== -1 && part.slice(0, eq).trim() === name && ++count > 1)
            return true;
    }
    return false;
}
/**
 * Reads the token from a request (cookie first, then header) and writes the current token
 * to the response. Writing happens in an on-headers hook, right before the headers go out,
 * so every response path carries it: a returned value, a thrown HttpException, a redirect,
 * a streamed file, or a handler using @Res().
 */
class TokenTransport {
    options;
    constructor(options) {
        this.options = options;
    }
    /** The request's state, created on first use. */
    state(req) {
        const holder = req;
        let state = holder[xems_internal_constants_1.XEMS_REQUEST_STATE];
        if (!state) {
            state = { cleared: false, hooked: false };
            holder[xems_internal_constants_1.XEMS_REQUEST_STATE] = state;
        }
        return state;
    }
    /** The request's state if the module has touched this request. */
    peek(req) {
        return req[xems_internal_constants_1.XEMS_REQUEST_STATE];
    }
    /** Reads the token the request carries. Never throws: malformed input is reported, not thrown. */
    read(req) {
        const cookie = this.options.cookie;
        const raw = req.headers.cookie;
        if (cookie && typeof raw === 'string' && raw.includes(cookie.name)) {
            const value = (0, cookie_1.parse)(raw)[cookie.name];
            if (value !== undefined) {
                if (isDuplicated(raw, cookie.name))
                    return { kind: 'malformed', via: 'cookie', reason: 'duplicated cookie' };
                if (!xems_internal_constants_1.TOKEN_PATTERN.test(value))
                    return { kind: 'malformed', via: 'cookie', reason: 'malformed cookie' };
                return { kind: 'token', token: value, via: 'cookie' };
            }
        }
        const header = this.options.header;
        if (header) {
            const value = req.headers[header];
            if (Array.isArray(value))
                return { kind: 'malformed', via: 'header', reason: 'duplicated header' };
            if (typeof value === 'string' && value.trim() !== '') {
                const token = value.trim();
                if (!xems_internal_constants_1.TOKEN_PATTERN.test(token))
                    return { kind: 'malformed', via: 'header', reason: 'malformed header' };
                return { kind: 'token', token, via: 'header' };
            }
        }
        return { kind: 'none' };
    }
    /**
     * How a response to this request should carry a new token: the way the request spoke.
     * A client without a token yet (a login) asks for the header by sending it empty.
     */
    replyVia(req, state) {
        if (state.presented)
            return state.presented.via;
        if (this.options.header && req.headers[this.options.header] !== undefined)
            return 'header';
        return this.options.cookie ? 'cookie' : 'header';
    }
    /** Installs the response hook once per request. */
    arm(req, res) {
        const state = this.state(req);
        if (state.hooked)
            return;
        state.hooked = true;
        (0, on_headers_1.default)(res, () => this.write(res, state));
    }
    /** Runs right before the headers are written. */
    write(res, state) {
        if (state.cleared) {
            if (this.options.cookie)
                this.setCookie(res, this.clearCookie(this.options.cookie));
            if (this.options.header)
                res.removeHeader(this.options.header);
            res.setHeader('Cache-Control', 'no-store');
            return;
        }
        const session = state.session;
        if (!session || session.token === state.presented?.token)
            return;
        const via = state.via ?? (this.options.cookie ? 'cookie' : 'header');
        if (via === 'cookie' && this.options.cookie) {
            this.setCookie(res, this.tokenCookie(this.options.cookie, session.token, session.expiresAt));
        }
        else if (this.options.header) {
            res.setHeader(this.options.header, session.token);
        }
        res.setHeader('Cache-Control', 'no-store');
    }
    /** Set-Cookie for a token; Max-Age never outlives the session's server-side expiry. */
    tokenCookie(cookie, token, expiresAt, now = Date.now()) {
        const maxAge = Math.max(0, Math.floor((expiresAt - now) / 1000));
        return (0, cookie_1.serialize)(cookie.name, token, {
            httpOnly: true,
            secure: cookie.secure,
            sameSite: cookie.sameSite,
            path: cookie.path,
            domain: cookie.domain,
            maxAge,
        });
    }
    /** Set-Cookie that removes the cookie: same name, path and domain, already expired. */
    clearCookie(cookie) {
        return (0, cookie_1.serialize)(cookie.name, '', {
            httpOnly: true,
            secure: cookie.secure,
            sameSite: cookie.sameSite,
            path: cookie.path,
            domain: cookie.domain,
            maxAge: 0,
            expires: new Date(0),
        });
    }
    /** Adds our Set-Cookie, replacing an earlier one of the same name, keeping the app's others. */
    setCookie(res, setCookie) {
        const name = this.options.cookie.name;
        const existing = res.getHeader('Set-Cookie');
        const list = existing === undefined ? [] : Array.isArray(existing) ? existing : [String(existing)];
        const others = list.filter((c) => !c.startsWith(`${name}=`));
        res.setHeader('Set-Cookie', [...others, setCookie]);
    }
}
exports.TokenTransport = TokenTransport;
//# sourceMappingURL=token-transport.js.map