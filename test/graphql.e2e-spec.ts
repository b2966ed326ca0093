import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  GRAPHQL_DRIVERS,
  GRAPHQL_DRIVER_NAMES as NAMES,
  STACK_FRAME,
  type GraphqlTestApp,
  createGraphqlApp,
  errorCodes,
  gql,
} from './support/graphql-app';
import { cookieAttributes, cookieToken, setCookieLine } from './support/xems-test-app';
import { eventually } from './support/xems-features-app';
import { whileStopped } from './support/stalls';

const cookie = (token: string) => ({ Cookie: `xems_token=${token}` });
const ME = '{ me { user email sessionId rotated } }';

/** Logs in through the login mutation: the cookie it set and the CSRF token it returned. */
async function login(t: GraphqlTestApp, user: string, sandbox?: string): Promise<{ token: string; csrf: string; sessionId: string }> {
  const args = sandbox ? `user: "${user}", sandbox: "${sandbox}"` : `user: "${user}"`;
  const res = await gql(t.server, `mutation { login(${args}) { sessionId csrf } }`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(res.body.errors, undefined, JSON.stringify(res.body.errors));
  const token = cookieToken(res);
  assert.ok(token, 'the login mutation set the session cookie');
  return { token, csrf: res.body.data.login.csrf, sessionId: res.body.data.login.sessionId };
}

for (const driver of GRAPHQL_DRIVERS) {
  describe(`GraphQL: ${NAMES[driver]} (code first)`, () => {
    let t: GraphqlTestApp;
    before(async () => {
      t = await createGraphqlApp(driver);
    });
    after(async () => {
      await t?.close();
    });

    it('a login mutation links: the HTTP response sets the token cookie', async () => {
      const res = await gql(t.server, 'mutation { login(user: "ada") { sessionId csrf } }');
      assert.equal(res.status, 200);
      const line = setCookieLine(res);
      assert.ok(line, JSON.stringify(res.headers));
      const attrs = cookieAttributes(line);
      assert.ok(attrs.has('httponly') && attrs.has('secure'), line);
      assert.match(res.body.data.login.csrf, /^[A-Za-z0-9_-]{22}$/);
      assert.equal(res.headers['cache-control'], 'no-store');
    });

    it('a guarded query resolves the session, rotates the token, and the HTTP response carries the new cookie', async () => {
      const session = await login(t, 'bea');
      let token = session.token;
      const seen = new Set([token]);
      for (let i = 0; i < 3; i++) {
        const res = await gql(t.server, ME, cookie(token));
        assert.equal(res.status, 200);
        assert.equal(res.body.errors, undefined, JSON.stringify(res.body.errors));
        assert.deepEqual(res.body.data.me, { user: 'bea', email: 'bea@example.test', sessionId: session.sessionId, rotated: true });
        const next = cookieToken(res);
        assert.ok(next && !seen.has(next), `rotation ${i}: a new token in Set-Cookie`);
        seen.add(next);
        token = next;
      }
    });

    it('a client using the token header gets the rotated token in the response header, and no cookie', async () => {
      const login = await gql(t.server, 'mutation { login(user: "hdr") { csrf } }', { 'x-xems-token': '' });
      const first = login.headers['x-xems-token'];
      assert.match(String(first), /^[A-Za-z0-9_-]{70}$/, 'a login asking for the header gets its token there');
      assert.equal(setCookieLine(login), undefined);
      const res = await gql(t.server, ME, { 'x-xems-token': String(first) });
      assert.equal(res.body.data?.me?.user, 'hdr', JSON.stringify(res.body));
      const next = res.headers['x-xems-token'];
      assert.match(String(next), /^[A-Za-z0-9_-]{70}$/);
      assert.notEqual(next, first, 'rotated');
      assert.equal(setCookieLine(res), undefined);
    });

    it('two guarded fields of one query share the session and the response carries one current token', async () => {
      const { token } = await login(t, 'cyd');
      const res = await gql(t.server, '{ a: me { user } b: me { user } }', cookie(token));
      assert.equal(res.body.errors, undefined, JSON.stringify(res.body.errors));
      assert.deepEqual(res.body.data, { a: { user: 'cyd' }, b: { user: 'cyd' } });
      const lines = ([] as string[]).concat(res.headers['set-cookie'] ?? []).filter((l) => l.startsWith('xems_token='));
      assert.equal(lines.length, 1, 'one Set-Cookie for the token');
      const next = cookieToken(res)!;
      const again = await gql(t.server, ME, cookie(next));
      assert.equal(again.body.data?.me?.user, 'cyd', 'the token the response carried is the current one');
    });

    it('no token, an unknown token or a malformed one: UNAUTHENTICATED, not INTERNAL_SERVER_ERROR, and no stack', async () => {
      const cases: [string, Record<string, string>][] = [
        ['none', {}],
        ['unknown', cookie('A'.repeat(70))],
        ['malformed', cookie('not-a-token')],
      ];
      for (const [what, headers] of cases) {
        const res = await gql(t.server, ME, headers);
        assert.equal(res.status, 200, what);
        assert.deepEqual(errorCodes(res.body), ['UNAUTHENTICATED'], `${what}: ${JSON.stringify(res.body)}`);
        assert.equal(res.body.data, null, what);
        assert.doesNotMatch(JSON.stringify(res.body), STACK_FRAME, `${what}: no stack frame in the body`);
        assert.equal(cookieToken(res), undefined, what);
      }
      const open = await gql(t.server, '{ ping }');
      assert.deepEqual(open.body.data, { ping: 'pong' }, 'an unguarded query still works');
    });

    it('a logout mutation unlinks: the cookie is cleared and the token is refused afterwards', async () => {
      const { token } = await login(t, 'dee');
      const res = await gql(t.server, 'mutation { logout }', cookie(token));
      assert.equal(res.body.errors, undefined, JSON.stringify(res.body.errors));
      assert.equal(res.body.data.logout, true);
      const line = setCookieLine(res);
      assert.ok(line, 'Set-Cookie clears the cookie');
      assert.equal(cookieToken(res), '');
      assert.equal(cookieAttributes(line).get('max-age'), '0');
      const after = await gql(t.server, ME, cookie(token));
      assert.deepEqual(errorCodes(after.body), ['UNAUTHENTICATED']);
    });

    it('CsrfGuard on a mutation: FORBIDDEN without or with a wrong token, passes with the session token; a query needs none', async () => {
      const session = await login(t, 'eve');
      let token = session.token;
      const send = async (query: string, headers: Record<string, string> = {}) => {
        const res = await gql(t.server, query, { ...cookie(token), ...headers });
        token = cookieToken(res) ?? token;
        return res;
      };
      const mutation = 'mutation { changeEmail(email: "e2@example.test") }';
      const missing = await send(mutation);
      assert.deepEqual(errorCodes(missing.body), ['FORBIDDEN'], JSON.stringify(missing.body));
      assert.doesNotMatch(JSON.stringify(missing.body), STACK_FRAME);
      const wrong = await send(mutation, { 'x-csrf-token': 'A'.repeat(22) });
      assert.deepEqual(errorCodes(wrong.body), ['FORBIDDEN']);
      const ok = await send(mutation, { 'x-csrf-token': session.csrf });
      assert.equal(ok.body.errors, undefined, JSON.stringify(ok.body.errors));
      assert.equal(ok.body.data.changeEmail, 'e2@example.test');
      const me = await send(ME);
      assert.equal(me.body.data.me.email, 'e2@example.test', 'the mutation updated the session');
      const query = await send('{ csrfFreeQuery }');
      assert.equal(query.body.errors, undefined, 'a query under CsrfGuard passes without a token');
      assert.equal(query.body.data.csrfFreeQuery, 'eve');
    });

    it('@XemsSandbox on a resolver: a token of the default sandbox is refused there, one of its own sandbox passes', async () => {
      const user = await login(t, 'fay');
      const refused = await gql(t.server, '{ adminUser }', cookie(user.token));
      assert.deepEqual(errorCodes(refused.body), ['UNAUTHENTICATED']);
      const admin = await login(t, 'gus', 'admin');
      const res = await gql(t.server, '{ adminUser }', cookie(admin.token));
      assert.equal(res.body.errors, undefined, JSON.stringify(res.body.errors));
      assert.equal(res.body.data.adminUser, 'gus');
    });
  });
}

for (const driver of GRAPHQL_DRIVERS) {
  describe(`GraphQL: ${NAMES[driver]} with gracePeriod 0`, () => {
    let t: GraphqlTestApp;
    before(async () => {
      t = await createGraphqlApp(driver, { gracePeriod: 0 });
    });
    after(async () => {
      await t?.close();
    });

    it('several guarded fields of one query or mutation each resolve the token: never taken for reuse, even without grace', async () => {
      const session = await login(t, 'kit');
      let token = session.token;
      for (const op of [
        '{ a: me { user } b: me { user } c: csrfFreeQuery }',
        'mutation { a: changeEmail(email: "k1@x.test") b: changeEmail(email: "k2@x.test") }',
      ]) {
        const res = await gql(t.server, op, { ...cookie(token), 'x-csrf-token': session.csrf });
        assert.equal(res.body.errors, undefined, `${op}: ${JSON.stringify(res.body.errors)}`);
        token = cookieToken(res) ?? token;
      }
      const me = await gql(t.server, ME, cookie(token));
      assert.equal(me.body.data?.me?.email, 'k2@x.test', `the session is alive: ${JSON.stringify(me.body)}`);
    });
  });
}

for (const driver of GRAPHQL_DRIVERS) {
  describe(`GraphQL: ${NAMES[driver]} with the passport option`, () => {
    let t: GraphqlTestApp;
    before(async () => {
      t = await createGraphqlApp(driver, { passport: { from: (data) => ({ name: (data as { user: string }).user }) } });
    });
    after(async () => {
      await t?.close();
    });

    it('a guarded resolver sees req.user filled from the session', async () => {
      const { token } = await login(t, 'lou');
      const res = await gql(t.server, '{ passportUser }', cookie(token));
      assert.equal(res.body.errors, undefined, JSON.stringify(res.body.errors));
      assert.deepEqual(JSON.parse(res.body.data.passportUser), { name: 'lou' });
    });
  });
}

// The line each Apollo platform needs (README, GraphQL): the error names the one of the app's platform.
const CONTEXT_LINES = [
  ['apollo', 'context: ({ req, res }) => ({ req, res }),'],
  ['apollo-fastify', 'context: (req, reply) => ({ req, reply }),'],
] as const;

for (const [driver, line] of CONTEXT_LINES) {
  describe(`GraphQL: ${NAMES[driver]} without the response in the GraphQL context`, () => {
    let t: GraphqlTestApp;
    before(async () => {
      t = await createGraphqlApp(driver, {}, { withContext: false });
    });
    after(async () => {
      await t?.close();
    });

    it('a guarded query answers with the exact line to add to GraphQLModule.forRoot, no TypeError, no stack, no rotation', async () => {
      const token = await t.xems.createSession('xems.session', { user: 'hal' });
      const res = await gql(t.server, ME, cookie(token));
      assert.equal(res.body.data, null);
      const [error] = res.body.errors as { message: string }[];
      assert.ok(error.message.includes(line), error.message);
      assert.ok(error.message.includes('GraphQLModule.forRoot'), error.message);
      assert.doesNotMatch(JSON.stringify(res.body), /TypeError|Cannot read properties/);
      assert.doesNotMatch(JSON.stringify(res.body), STACK_FRAME);
      const session = await t.xems.resolveSession(token, { rotate: false });
      assert.equal(session?.token, token, 'the token was not rotated (its successor would have been lost)');
    });
  });
}

for (const driver of GRAPHQL_DRIVERS) {
  describe(`GraphQL: ${NAMES[driver]} during a sidecar outage`, () => {
    let t: GraphqlTestApp;
    before(async () => {
      t = await createGraphqlApp(driver, { sidecar: { maxRestarts: 0, requestTimeout: '1s' } });
    });
    after(async () => {
      await t?.close();
    });

    it(
      'a sidecar stopped past requestTimeout: the guarded query answers SERVICE_UNAVAILABLE; the session works once it resumes',
      { skip: process.platform !== 'linux' && 'reads /proc' },
      async () => {
        const { token } = await login(t, 'hap');
        // whileStopped waits until every thread of the sidecar is stopped: SIGSTOP takes effect
        // thread by thread, and a thread still running could answer the query.
        const res = await whileStopped(t.xems.sidecar.pid!, () => gql(t.server, ME, cookie(token)));
        assert.deepEqual(errorCodes(res.body), ['SERVICE_UNAVAILABLE'], JSON.stringify(res.body));
        assert.equal(res.headers['retry-after'], '1');
        assert.doesNotMatch(JSON.stringify(res.body), STACK_FRAME);
        assert.equal(cookieToken(res), undefined, 'no token on a refused response');
        const again = await gql(t.server, ME, cookie(token));
        assert.equal(again.body.data?.me?.user, 'hap', `the token still works: ${JSON.stringify(again.body)}`);
      },
    );

    it('a guarded query and a login mutation answer SERVICE_UNAVAILABLE with Retry-After and no stack', async () => {
      const { token } = await login(t, 'ivy');
      process.kill(t.xems.sidecar.pid!, 'SIGKILL');
      await eventually(() => t.xems.sidecar.state === 'failed', 5000, 'the sidecar to be down for good (maxRestarts: 0)');
      for (const [what, query, headers] of [
        ['guarded query', ME, cookie(token)],
        ['login mutation', 'mutation { login(user: "jon") { csrf } }', {}],
      ] as const) {
        const res = await gql(t.server, query, headers);
        assert.deepEqual(errorCodes(res.body), ['SERVICE_UNAVAILABLE'], `${what}: ${JSON.stringify(res.body)}`);
        assert.equal(res.headers['retry-after'], '1', what);
        assert.doesNotMatch(JSON.stringify(res.body), STACK_FRAME, `${what}: no stack`);
        assert.doesNotMatch(JSON.stringify(res.body), /Xems\w*Error|INTERNAL_SERVER_ERROR/, what);
        assert.equal(cookieToken(res), undefined, what);
      }
    });
  });
}
