"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.XEMS_DEFAULT_HEADER = exports.XEMS_SANDBOX_METADATA = exports.XEMS_MODULE_OPTIONS = void 0;
const xems_module_definition_1 = require("./xems.module-definition");
/** Injection token of the options object given to XemsModule.forRoot / forRootAsync (as given, before defaults). */
exports.XEMS_MODULE_OPTIONS = xems_module_definition_1.MODULE_OPTIONS_TOKEN;
/** Metadata key written by @XemsSandbox() on a handler or controller. */
exports.XEMS_SANDBOX_METADATA = 'xems:sandbox';
/** Response header a mobile or server client reads its token from (when the header transport is on): see options.header. */
exports.XEMS_DEFAULT_HEADER = 'x-xems-token';
//# sourceMappingURL=xems.constants.js.map