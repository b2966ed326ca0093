import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { XEMS_GRAPHQL_CODES } from '../src';
import {
  GRAPHQL_DRIVERS,
  GRAPHQL_DRIVER_NAMES as NAMES,
  STACK_FRAME,
  type GraphqlTestApp,
  createGraphqlApp,
  gql,
} from './support/graphql-app';
import { cookieToken, sleep } from './support/xems-test-app';

// @RequireFreshAuth on resolvers, end to end (README, GraphQL): a session whose authentication
// is too old, or lacks a method, gets a GraphQL error with extensions.code
// XEMS_FRESH_AUTH_REQUIRED (maxAge, methods: as the HTTP body), never UNAUTHENTICATED (clients
// log out on that); the session stays, its rotated token comes back; after reauthenticated()
// the resolver passes. Real sidecar, real HTTP, on each GraphQL driver.

const ME = '{ me { user sessionId } }';

/** One browser: the token its cookie holds, updated from every response's Set-Cookie. */
class GraphqlClient {
  constructor(
    private readonly t: GraphqlTestApp,
    public token: string,
  ) {}

  static async login(t: GraphqlTestApp, user: string): Promise<GraphqlClient> {
    const res = await gql(t.server, `mutation { login(user: "${user}") { csrf } }`);
    assert.equal(res.body.errors, undefined, JSON.stringify(res.body.errors));
    return new GraphqlClient(t, cookieToken(res)!);
  }

  async send(query: string) {
    const sent = this.token;
    const res = await gql(this.t.server, query, { Cookie: `xems_token=${sent}` });
    assert.equal(res.status, 200, `${query}: ${JSON.stringify(res.body)}`);
    this.token = cookieToken(res) ?? this.token;
    return { res, sent, rotated: this.token !== sent };
  }
}

type GraphqlError = { message: string; path?: string[]; extensions?: Record<string, unknown> };

/** The one error of a refused step-up: its code, maxAge and methods, the challenge, no stack, the session's token. */
function assertStepUpRefusal(reply: Awaited<ReturnType<GraphqlClient['send']>>, maxAge: number, methods?: string[]): void {
  const { res } = reply;
  const errors = res.body.errors as GraphqlError[];
  assert.equal(errors?.length, 1, JSON.stringify(res.body));
  const [error] = errors;
  assert.equal(error.extensions?.code, XEMS_GRAPHQL_CODES.freshAuthRequired, JSON.stringify(error));
  assert.equal(error.extensions?.code, 'XEMS_FRESH_AUTH_REQUIRED');
  assert.equal(error.extensions?.maxAge, maxAge);
  assert.deepEqual(error.extensions?.methods, methods);
  assert.match(error.message, /more recent authentication/);
  assert.equal(res.body.data, null);
  assert.doesNotMatch(JSON.stringify(res.body), STACK_FRAME);
  assert.doesNotMatch(JSON.stringify(res.body), /Xems\w*Error|UNAUTHENTICATED|INTERNAL_SERVER_ERROR/);
  const challenge = String(res.headers['www-authenticate']);
  assert.match(challenge, /^Bearer error="insufficient_user_authentication"/);
  assert.match(challenge, new RegExp(`max_age=${maxAge}(,|$)`));
  assert.ok(reply.rotated, 'the refusal carries the rotated token (Set-Cookie)');
}

for (const driver of GRAPHQL_DRIVERS) {
  describe(`GraphQL: ${NAMES[driver]}, @RequireFreshAuth on resolvers`, () => {
    let t: GraphqlTestApp;
    before(async () => {
      t = await createGraphqlApp(driver);
    });
    after(async () => {
      await t?.close();
    });

    it('a method the login lacks: XEMS_FRESH_AUTH_REQUIRED with maxAge and methods; the session stays; after reauthenticated the resolver passes', async () => {
      const client = await GraphqlClient.login(t, 'ann');
      const refused = await client.send('{ passkeyUser }');
      assertStepUpRefusal(refused, 3600, ['webauthn']);

      const me = await client.send(ME);
      assert.equal(me.res.body.data?.me?.user, 'ann', `the rotated token of the refusal works: ${JSON.stringify(me.res.body)}`);
      const sessionId = me.res.body.data.me.sessionId as string;

      const reauth = await client.send('mutation { reauthenticate(methods: ["webauthn"]) }');
      assert.equal(reauth.res.body.errors, undefined, JSON.stringify(reauth.res.body.errors));
      assert.equal(reauth.res.body.data.reauthenticate, true);
      assert.ok(reauth.rotated, 'reauthenticated gives a new token');

      const passes = await client.send('{ passkeyUser }');
      assert.equal(passes.res.body.errors, undefined, JSON.stringify(passes.res.body.errors));
      assert.equal(passes.res.body.data.passkeyUser, 'ann');
      const after = await client.send(ME);
      assert.notEqual(after.res.body.data?.me?.sessionId, sessionId, 'a new session id (reauthentication regenerates)');

      const old = await gql(t.server, ME, { Cookie: `xems_token=${reauth.sent}` });
      assert.deepEqual(
        (old.body.errors as GraphqlError[]).map((e) => e.extensions?.code),
        ['UNAUTHENTICATED'],
        'the token the reauthentication was sent with is dead',
      );
    });

    it('an authentication older than maxAge: refused (maxAge, no methods); the session stays; after reauthenticated it passes', async () => {
      const client = await GraphqlClient.login(t, 'bob');
      // 2 s is @RequireFreshAuth's maxAge on recentUser; waiting past it is all the timing this needs.
      await sleep(2300);
      const refused = await client.send('{ recentUser }');
      assertStepUpRefusal(refused, 2, undefined);
      const me = await client.send(ME);
      assert.equal(me.res.body.data?.me?.user, 'bob', `the session is alive: ${JSON.stringify(me.res.body)}`);

      const reauth = await client.send('mutation { reauthenticate(methods: ["pwd"]) }');
      assert.equal(reauth.res.body.data?.reauthenticate, true, JSON.stringify(reauth.res.body));
      const passes = await client.send('{ recentUser }');
      assert.equal(passes.res.body.errors, undefined, JSON.stringify(passes.res.body.errors));
      assert.equal(passes.res.body.data.recentUser, 'bob');
    });

    it('a refused field beside an allowed one: one error, for that field, XEMS_FRESH_AUTH_REQUIRED; the session stays', async () => {
      const client = await GraphqlClient.login(t, 'cat');
      const both = await client.send('{ passkeyUser me { user } }');
      const errors = both.res.body.errors as GraphqlError[];
      assert.deepEqual(
        errors.map((e) => [e.path, e.extensions?.code]),
        [[['passkeyUser'], 'XEMS_FRESH_AUTH_REQUIRED']],
      );
      assert.ok(both.rotated, 'the response carries the rotated token');
      const next = await client.send(ME);
      assert.equal(next.res.body.data?.me?.user, 'cat', JSON.stringify(next.res.body));
    });
  });
}
