"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.TOKEN_PATTERN = exports.XEMS_REQUEST_STATE = exports.XEMS_RESOLVED_OPTIONS = void 0;
/** Injection token of the validated options with defaults applied (ResolvedXemsOptions). */
exports.XEMS_RESOLVED_OPTIONS = Symbol('XEMS_RESOLVED_OPTIONS');
/**
 * Property of the request object holding the module's per-request state. Symbol.for so two
 * copies of the package in one process still agree.
 */
exports.XEMS_REQUEST_STATE = Symbol.for('nestjs-xems.request-state');
/** Shape of a sidecar token: 52 bytes in base64url without padding (docs/protocol.md). */
exports.TOKEN_PATTERN = /^[A-Za-z0-9_-]{70}$/;
//# sourceMappingURL=xems.internal-constants.js.map