"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.XemsSession = exports.Session = void 0;
exports.sessionDataOf = sessionDataOf;
exports.selectSessionData = selectSessionData;
const common_1 = require("@nestjs/common");
const xems_internal_constants_1 = require("./xems.internal-constants");
/** The session data of a request (set by SessionGuard or XemsService.link), or undefined. */
function sessionDataOf(req) {
    const state = req[xems_internal_constants_1.XEMS_REQUEST_STATE];
    return state?.session?.data;
}
/** Exported for unit tests: what @Session(field) returns for a request. */
function selectSessionData(field, ctx) {
    const data = sessionDataOf(ctx.switchToHttp().getRequest());
    if (field === undefined)
        return data;
    if (data === null || typeof data !== 'object')
        return undefined;
    return Object.prototype.hasOwnProperty.call(data, field) ? data[field] : undefined;
}
/**
 * Injects the session data resolved by SessionGuard: `@Session() session` or one field,
 * `@Session('email') email`. Import it from 'nestjs-xems': Nest's own `Session` from
 * '@nestjs/common' returns express-session's req.session, not this. Also exported as
 * XemsSession to avoid the clash.
 */
exports.Session = (0, common_1.createParamDecorator)(selectSessionData);
/** Alias of Session that cannot be confused with `Session` from '@nestjs/common'. */
exports.XemsSession = exports.Session;
//# sourceMappingURL=session.decorator.js.map