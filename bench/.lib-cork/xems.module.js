"use strict";
var __decorate = (this && this.__decorate) || function (decorators, target, key, desc) {
    var c = arguments.length, r = c < 3 ? target : desc === null ? desc = Object.getOwnPropertyDescriptor(target, key) : desc, d;
    if (typeof Reflect === "object" && typeof Reflect.decorate === "function") r = Reflect.decorate(decorators, target, key, desc);
    else for (var i = decorators.length - 1; i >= 0; i--) if (d = decorators[i]) r = (c < 3 ? d(r) : c > 3 ? d(target, key, r) : d(target, key)) || r;
    return c > 3 && r && Object.defineProperty(target, key, r), r;
};
Object.defineProperty(exports, "__esModule", { value: true });
exports.XemsModule = void 0;
const common_1 = require("@nestjs/common");
const core_1 = require("@nestjs/core");
const session_guard_1 = require("./session.guard");
const token_rotation_interceptor_1 = require("./token-rotation.interceptor");
const xems_internal_constants_1 = require("./xems.internal-constants");
const xems_module_definition_1 = require("./xems.module-definition");
const xems_options_1 = require("./xems.options");
const xems_service_1 = require("./xems.service");
/** Validates the options once, at start-up, and applies the defaults. */
const resolvedOptionsProvider = {
    provide: xems_internal_constants_1.XEMS_RESOLVED_OPTIONS,
    inject: [xems_module_definition_1.MODULE_OPTIONS_TOKEN],
    useFactory: (options) => {
        const logger = new common_1.Logger('Xems');
        return (0, xems_options_1.resolveXemsOptions)(options, { warn: (message) => logger.warn(message) });
    },
};
/**
 * Secure server-side sessions and short-lived secrets kept encrypted by a supervised Go
 * sidecar. `XemsModule.forRoot({...})` or `XemsModule.forRootAsync({ useFactory, inject })`,
 * both accepting `isGlobal`.
 */
let XemsModule = class XemsModule extends xems_module_definition_1.XemsConfigurableModuleClass {
};
exports.XemsModule = XemsModule;
exports.XemsModule = XemsModule = __decorate([
    (0, common_1.Module)({
        providers: [
            resolvedOptionsProvider,
            xems_service_1.XemsService,
            session_guard_1.SessionGuard,
            token_rotation_interceptor_1.TokenRotationInterceptor,
            { provide: core_1.APP_INTERCEPTOR, useExisting: token_rotation_interceptor_1.TokenRotationInterceptor },
        ],
        exports: [xems_service_1.XemsService, session_guard_1.SessionGuard, token_rotation_interceptor_1.TokenRotationInterceptor, xems_internal_constants_1.XEMS_RESOLVED_OPTIONS],
    })
], XemsModule);
//# sourceMappingURL=xems.module.js.map