"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.XemsSandbox = XemsSandbox;
const common_1 = require("@nestjs/common");
const xems_constants_1 = require("./xems.constants");
const xems_defaults_1 = require("./xems.defaults");
const xems_errors_1 = require("./xems.errors");
/**
 * Resolves the sessions of a handler or controller in `sandbox` instead of the module's
 * default sandbox. A token from another sandbox is refused there (401).
 */
function XemsSandbox(sandbox) {
    if (typeof sandbox !== 'string' || !xems_defaults_1.XEMS_LIMITS.sandboxPattern.test(sandbox)) {
        throw new xems_errors_1.XemsConfigError('@XemsSandbox()', `${JSON.stringify(sandbox)} is not a valid sandbox name`, 'Use 1-64 characters from A-Z a-z 0-9 . _ : -');
    }
    return (0, common_1.SetMetadata)(xems_constants_1.XEMS_SANDBOX_METADATA, sandbox);
}
//# sourceMappingURL=xems-sandbox.decorator.js.map