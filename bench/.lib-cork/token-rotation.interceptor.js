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
exports.TokenRotationInterceptor = void 0;
const common_1 = require("@nestjs/common");
const rxjs_1 = require("rxjs");
const session_guard_1 = require("./session.guard");
const xems_context_1 = require("./xems.context");
const xems_service_1 = require("./xems.service");
/**
 * Registered globally by XemsModule (nothing to add by hand). Around every HTTP handler it:
 * - makes sure a session found or created in this request sends its current token on the
 *   response (the on-headers hook covers returned values, thrown exceptions, redirects,
 *   streamed files and @Res() handlers alike);
 * - runs the handler with the request in an AsyncLocalStorage, so XemsService knows the
 *   current session (listSessions marks it, updateSession keeps @Session() in step);
 * - turns a sidecar outage raised inside the handler (XemsService calls) into a 503 with
 *   Retry-After instead of a 500.
 */
let TokenRotationInterceptor = class TokenRotationInterceptor {
    xems;
    constructor(xems) {
        this.xems = xems;
    }
    intercept(context, next) {
        if (context.getType() !== 'http')
            return next.handle();
        const http = context.switchToHttp();
        const req = http.getRequest();
        const res = http.getResponse();
        if (this.xems.transport.peek(req)?.session)
            this.xems.transport.arm(req, res);
        return new rxjs_1.Observable((subscriber) => xems_context_1.xemsRequestContext.run(req, () => next
            .handle()
            .pipe((0, rxjs_1.catchError)((error) => {
            if ((0, session_guard_1.isSidecarUnavailable)(error))
                (0, session_guard_1.throwServiceUnavailable)(res);
            throw error;
        }))
            .subscribe(subscriber)));
    }
};
exports.TokenRotationInterceptor = TokenRotationInterceptor;
exports.TokenRotationInterceptor = TokenRotationInterceptor = __decorate([
    (0, common_1.Injectable)(),
    __metadata("design:paramtypes", [xems_service_1.XemsService])
], TokenRotationInterceptor);
//# sourceMappingURL=token-rotation.interceptor.js.map