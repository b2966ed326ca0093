"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
//# sourceMappingURL=xems.events.js.map