import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ExecutionContext } from '@nestjs/common';
import { resolverContext } from '../../test/support/graphql-fakes';
import { fakeHttp } from '../../test/support/http-fakes';
import { XemsGraphqlContextError } from '../xems.errors';
import {
  GRAPHQL_CONTEXT_LINE,
  GRAPHQL_FASTIFY_CONTEXT_LINE,
  graphqlOperation,
  graphqlRequest,
  graphqlResponse,
  isGraphqlContext,
  peekGraphqlHttp,
} from './graphql-context';
import { XemsGraphqlUnavailableError, graphqlUnavailable, inGraphqlForm } from './graphql-errors';

describe('graphql-context', () => {
  it('reads req and res from an Apollo context, and the operation from the resolve info', () => {
    const { req, res } = fakeHttp();
    const ctx = resolverContext({ req, res }, 'mutation');
    assert.ok(isGraphqlContext(ctx));
    assert.equal(graphqlRequest(ctx), req);
    assert.equal(graphqlResponse(ctx), res);
    assert.deepEqual(peekGraphqlHttp(ctx), { req, res });
    assert.equal(graphqlOperation(ctx), 'mutation');
  });

  it('reads the request from the reply of a Mercurius context', () => {
    const request = { headers: {} };
    const reply = { request };
    const ctx = resolverContext({ reply, app: {} });
    assert.equal(graphqlRequest(ctx), request);
    assert.equal(graphqlResponse(ctx), reply);
  });

  it('a context without res or req: an XemsGraphqlContextError naming the forRoot line, with no stack frames', () => {
    const { req } = fakeHttp();
    for (const [gqlContext, missing] of [
      [{ req }, 'res'],
      [{}, 'req'],
      [undefined, 'req'],
    ] as const) {
      const ctx = resolverContext(gqlContext);
      assert.equal(peekGraphqlHttp(ctx), undefined);
      const read = () => (missing === 'req' ? graphqlRequest(ctx) : graphqlResponse(ctx));
      assert.throws(read, (error: unknown) => {
        assert.ok(error instanceof XemsGraphqlContextError);
        assert.equal(error.code, 'GRAPHQL_CONTEXT');
        assert.ok(error.message.includes(`no "${missing}"`), error.message);
        assert.ok(error.message.includes(GRAPHQL_CONTEXT_LINE), error.message);
        assert.equal(error.stack?.includes('\n'), false, 'one line');
        return true;
      });
    }
  });

  it('Apollo on Fastify (a FastifyRequest without the reply): the message names the (req, reply) line', () => {
    const { req } = fakeHttp();
    const ctx = resolverContext({ req: { raw: req, headers: req.headers } });
    assert.throws(
      () => graphqlResponse(ctx),
      (error: unknown) => error instanceof XemsGraphqlContextError && error.message.includes(GRAPHQL_FASTIFY_CONTEXT_LINE),
    );
  });

  it('a subscription without req: the error says subscriptions are not served, not a context line', () => {
    assert.throws(
      () => graphqlRequest(resolverContext({}, 'subscription')),
      (error: unknown) =>
        error instanceof XemsGraphqlContextError && /subscription/.test(error.message) && !error.message.includes('forRoot'),
    );
  });

  it('an HTTP context is not a GraphQL one', () => {
    assert.equal(isGraphqlContext({ getType: () => 'http' } as unknown as ExecutionContext), false);
  });
});

describe('graphql-errors', () => {
  it('inGraphqlForm sets extensions.code and keeps no stack frames', () => {
    const error = inGraphqlForm(new Error('nope'), 'UNAUTHENTICATED');
    assert.deepEqual((error as Error & { extensions: unknown }).extensions, { code: 'UNAUTHENTICATED' });
    assert.equal(error.stack, 'Error: nope');
  });

  it('graphqlUnavailable sets Retry-After and answers SERVICE_UNAVAILABLE', () => {
    const { res } = fakeHttp();
    const error = graphqlUnavailable(res);
    assert.ok(error instanceof XemsGraphqlUnavailableError);
    assert.deepEqual(error.extensions, { code: 'SERVICE_UNAVAILABLE' });
    assert.equal(res.getHeader('Retry-After'), '1');
    assert.equal(error.stack?.includes('\n'), false);
    assert.ok(graphqlUnavailable(undefined) instanceof XemsGraphqlUnavailableError, 'without a response too');
  });
});
