import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants.js';
import { fakeHttp, fakeRequestSessions, fakeSession, httpContext } from '../test/support/http-fakes';
import { Logger, UnauthorizedException } from '@nestjs/common';
import { IsString } from 'class-validator';
import { Session, XemsSession, selectSessionContext, selectSessionData } from './session.decorator';

describe('@Session()', () => {
  const sessions = fakeRequestSessions();
  const withSession = (data: unknown) => {
    const { req, res } = fakeHttp();
    sessions.attach(req, res, fakeSession({ data }), { token: 't', via: 'cookie' });
    return httpContext(req, res);
  };

  it('returns the whole session data, or one field', () => {
    const ctx = withSession({ email: 'a@b.c', roles: ['x'] });
    assert.deepEqual(selectSessionData(undefined, ctx), { email: 'a@b.c', roles: ['x'] });
    assert.equal(selectSessionData('email', ctx), 'a@b.c');
    assert.equal(selectSessionData('missing', ctx), undefined);
  });

  it('returns undefined without a session, for non-object data, and for inherited properties', () => {
    const { req, res } = fakeHttp();
    assert.equal(selectSessionData(undefined, httpContext(req, res)), undefined);
    assert.equal(selectSessionData('email', httpContext(req, res)), undefined);
    assert.equal(selectSessionData('length', withSession('abc')), undefined);
    assert.equal(selectSessionData('constructor', withSession({})), undefined);
    assert.equal(selectSessionData('__proto__', withSession({})), undefined);
  });

  it('with a schema: returns a validated instance, or refuses with 401 and a log line', () => {
    class Dto {
      @IsString()
      email!: string;
    }
    const good = selectSessionData({ schema: Dto }, withSession({ email: 'a@b.c' }));
    assert.ok(good instanceof Dto);
    const warnings: string[] = [];
    const original = Logger.prototype.warn;
    Logger.prototype.warn = function (message: unknown) {
      warnings.push(String(message));
    };
    try {
      assert.throws(() => selectSessionData({ schema: Dto }, withSession({ email: 42, secret: 'DATA-MARKER' })), UnauthorizedException);
    } finally {
      Logger.prototype.warn = original;
    }
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /Session i .*Dto.*email/);
    assert.doesNotMatch(warnings[0], /DATA-MARKER|42/);
    const { req, res } = fakeHttp();
    assert.throws(() => selectSessionData({ schema: Dto }, httpContext(req, res)), UnauthorizedException, 'no session at all');
  });

  it('@SessionContext() gives id, sandbox, expiry, rotated and remember-me, never the token or data', () => {
    const ctx = withSession({ secret: 1 });
    assert.deepEqual(selectSessionContext(undefined, ctx), {
      id: 'i',
      sandbox: 's',
      expiresAt: 0,
      rotated: false,
      rememberMe: false,
      deviceBound: false,
    });
    const { req, res } = fakeHttp();
    assert.equal(selectSessionContext(undefined, httpContext(req, res)), undefined);
  });

  it('is exported as Session and XemsSession and registers a custom route argument', () => {
    assert.equal(XemsSession, Session);
    class C {
      handler(_a: unknown, _b: unknown) {}
    }
    Session('email')(C.prototype, 'handler', 1);
    XemsSession()(C.prototype, 'handler', 0);
    const meta = Reflect.getMetadata(ROUTE_ARGS_METADATA, C, 'handler') as Record<
      string,
      { index: number; data: unknown; factory: unknown }
    >;
    const args = Object.values(meta).sort((a, b) => a.index - b.index);
    assert.equal(args.length, 2);
    assert.equal(args[0].data, undefined);
    assert.equal(args[1].data, 'email');
    assert.equal(args[1].factory, selectSessionData);
  });
});
