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
exports.SessionGuard = void 0;
exports.isSidecarUnavailable = isSidecarUnavailable;
exports.throwServiceUnavailable = throwServiceUnavailable;
const common_1 = require("@nestjs/common");
const core_1 = require("@nestjs/core");
const xems_constants_1 = require("./xems.constants");
const xems_defaults_1 = require("./xems.defaults");
const xems_errors_1 = require("./xems.errors");
const xems_service_1 = require("./xems.service");
/** True for the errors meaning "the sidecar cannot answer now" (503, retry later). */
function isSidecarUnavailable(error) {
    return error instanceof xems_errors_1.XemsUnavailableError || error instanceof xems_errors_1.XemsTimeoutError || error instanceof xems_errors_1.XemsOverloadedError;
}
/** Throws the 503 used for every sidecar outage, with Retry-After and no stack in the body. */
function throwServiceUnavailable(res) {
    if (res && !res.headersSent)
        res.setHeader('Retry-After', String(xems_defaults_1.XEMS_UNAVAILABLE_RETRY_AFTER_S));
    throw new common_1.ServiceUnavailableException({
        statusCode: common_1.HttpStatus.SERVICE_UNAVAILABLE,
        error: 'Service Unavailable',
        message: 'The session store is temporarily unavailable; retry shortly',
    });
}
/**
 * Protects a route with a session: reads the token (cookie first, then header), resolves it
 * in the route's sandbox (@XemsSandbox or the module's default), rotates it per autoRotation,
 * and attaches the session to the request (@Session()). The response carries the current
 * token on every path. Refusals: 401 (no, malformed, unknown, expired, revoked or reused
 * token), 503 with Retry-After (sidecar unavailable, timed out or overloaded).
 *
 * Every step is a protected method, so a subclass can change one without copying the rest.
 */
let SessionGuard = class SessionGuard {
    xems;
    reflector;
    constructor(xems, reflector) {
        this.xems = xems;
        this.reflector = reflector;
    }
    async canActivate(context) {
        const req = this.getRequest(context);
        const res = this.getResponse(context);
        const sandbox = this.getSandbox(context);
        const presented = this.getToken(req, context);
        if (!presented)
            return this.onUnauthorized('missing', context);
        const policy = this.getRotationPolicy(context);
        let session;
        try {
            session = await this.xems.resolveSession(presented.token, {
                sandbox,
                rotate: policy.rotate,
                gracePeriod: policy.graceMs,
                minRotateInterval: policy.minRotateIntervalMs,
            });
        }
        catch (error) {
            if (isSidecarUnavailable(error))
                return this.onUnavailable(error, context);
            throw error;
        }
        if (!session)
            return this.onUnauthorized('invalid', context);
        const transport = this.xems.transport;
        const state = transport.state(req);
        state.presented = presented;
        state.via = presented.via;
        state.cleared = false;
        state.session = { sandbox, id: session.id, token: session.token, data: session.data, expiresAt: session.expiresAt };
        transport.arm(req, res);
        return true;
    }
    getRequest(context) {
        return context.switchToHttp().getRequest();
    }
    getResponse(context) {
        return context.switchToHttp().getResponse();
    }
    /** The token the request presents: cookie first, then header. Malformed carriers are refused. */
    getToken(req, context) {
        const lookup = this.xems.transport.read(req);
        if (lookup.kind === 'malformed')
            return this.onUnauthorized('malformed', context);
        return lookup.kind === 'token' ? { token: lookup.token, via: lookup.via } : undefined;
    }
    /** @XemsSandbox() of the handler, else of the controller, else the module's default. */
    getSandbox(context) {
        return (this.reflector.getAllAndOverride(xems_constants_1.XEMS_SANDBOX_METADATA, [context.getHandler(), context.getClass()]) ??
            this.xems.options.sandbox);
    }
    /** From the module's autoRotation and gracePeriod options. */
    getRotationPolicy(_context) {
        const { rotation, graceMs } = this.xems.options;
        return { rotate: rotation.enabled, graceMs, minRotateIntervalMs: rotation.minIntervalMs };
    }
    /** Refuses the request with 401. */
    onUnauthorized(_reason, _context) {
        throw new common_1.UnauthorizedException();
    }
    /** The sidecar cannot answer: 503 with Retry-After, never 500 and never a pass. */
    onUnavailable(_error, context) {
        throwServiceUnavailable(this.getResponse(context));
    }
};
exports.SessionGuard = SessionGuard;
exports.SessionGuard = SessionGuard = __decorate([
    (0, common_1.Injectable)(),
    __metadata("design:paramtypes", [xems_service_1.XemsService,
        core_1.Reflector])
], SessionGuard);
//# sourceMappingURL=session.guard.js.map