import type { IncomingMessage, ServerResponse } from 'node:http';
import { CanActivate, ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { XemsPresentedToken } from './token-transport';
import { XemsService } from './xems.service';
/** Why a request was refused: no token, a malformed carrier, or a token the sidecar refused. */
export type XemsUnauthorizedReason = 'missing' | 'malformed' | 'invalid';
/** How the guard resolves: whether to rotate, and the windows sent to the sidecar. */
export interface XemsRotationPolicy {
    rotate: boolean;
    graceMs: number;
    minRotateIntervalMs: number;
}
/** True for the errors meaning "the sidecar cannot answer now" (503, retry later). */
export declare function isSidecarUnavailable(error: unknown): boolean;
/** Throws the 503 used for every sidecar outage, with Retry-After and no stack in the body. */
export declare function throwServiceUnavailable(res: ServerResponse | undefined): never;
/**
 * Protects a route with a session: reads the token (cookie first, then header), resolves it
 * in the route's sandbox (@XemsSandbox or the module's default), rotates it per autoRotation,
 * and attaches the session to the request (@Session()). The response carries the current
 * token on every path. Refusals: 401 (no, malformed, unknown, expired, revoked or reused
 * token), 503 with Retry-After (sidecar unavailable, timed out or overloaded).
 *
 * Every step is a protected method, so a subclass can change one without copying the rest.
 */
export declare class SessionGuard implements CanActivate {
    protected readonly xems: XemsService;
    protected readonly reflector: Reflector;
    constructor(xems: XemsService, reflector: Reflector);
    canActivate(context: ExecutionContext): Promise<boolean>;
    protected getRequest(context: ExecutionContext): IncomingMessage;
    protected getResponse(context: ExecutionContext): ServerResponse;
    /** The token the request presents: cookie first, then header. Malformed carriers are refused. */
    protected getToken(req: IncomingMessage, context: ExecutionContext): XemsPresentedToken | undefined;
    /** @XemsSandbox() of the handler, else of the controller, else the module's default. */
    protected getSandbox(context: ExecutionContext): string;
    /** From the module's autoRotation and gracePeriod options. */
    protected getRotationPolicy(_context: ExecutionContext): XemsRotationPolicy;
    /** Refuses the request with 401. */
    protected onUnauthorized(_reason: XemsUnauthorizedReason, _context: ExecutionContext): never;
    /** The sidecar cannot answer: 503 with Retry-After, never 500 and never a pass. */
    protected onUnavailable(_error: Error, context: ExecutionContext): never;
}
