import { ExecutionContext } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
/** The session data of a request (set by SessionGuard or XemsService.link), or undefined. */
export declare function sessionDataOf(req: IncomingMessage): unknown;
/** Exported for unit tests: what @Session(field) returns for a request. */
export declare function selectSessionData(field: string | undefined, ctx: ExecutionContext): unknown;
/**
 * Injects the session data resolved by SessionGuard: `@Session() session` or one field,
 * `@Session('email') email`. Import it from 'nestjs-xems': Nest's own `Session` from
 * '@nestjs/common' returns express-session's req.session, not this. Also exported as
 * XemsSession to avoid the clash.
 */
export declare const Session: (...dataOrPipes: (string | import("@nestjs/common").ParameterDecoratorOptions | import("@nestjs/common").PipeTransform<any, any> | import("@nestjs/common").Type<import("@nestjs/common").PipeTransform<any, any>> | undefined)[]) => ParameterDecorator;
/** Alias of Session that cannot be confused with `Session` from '@nestjs/common'. */
export declare const XemsSession: (...dataOrPipes: (string | import("@nestjs/common").ParameterDecoratorOptions | import("@nestjs/common").PipeTransform<any, any> | import("@nestjs/common").Type<import("@nestjs/common").PipeTransform<any, any>> | undefined)[]) => ParameterDecorator;
