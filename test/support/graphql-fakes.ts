import type { ExecutionContext } from '@nestjs/common';

/**
 * A resolver's ExecutionContext as @nestjs/graphql builds it: type 'graphql', arguments
 * (root, args, GraphQL context, info) with the operation in info.
 */
export function resolverContext(
  gqlContext: unknown,
  operation = 'query',
  handler: (...args: unknown[]) => unknown = function resolver() {},
  cls: new (...args: unknown[]) => unknown = class Resolver {},
): ExecutionContext {
  const args = [undefined, {}, gqlContext, { operation: { operation } }];
  return {
    getType: () => 'graphql',
    getArgs: () => args,
    getArgByIndex: (i: number) => args[i],
    getHandler: () => handler,
    getClass: () => cls,
    switchToHttp: () => ({ getRequest: () => args[0], getResponse: () => args[1], getNext: () => args[2] }),
  } as unknown as ExecutionContext;
}
