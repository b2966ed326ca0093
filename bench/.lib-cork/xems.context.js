"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.xemsRequestContext = void 0;
const node_async_hooks_1 = require("node:async_hooks");
/**
 * The request being handled, set by TokenRotationInterceptor around the route handler, so
 * XemsService methods called without a request (listSessions) know the current session.
 */
exports.xemsRequestContext = new node_async_hooks_1.AsyncLocalStorage();
//# sourceMappingURL=xems.context.js.map