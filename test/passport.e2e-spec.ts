import 'reflect-metadata';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Controller, Get, HttpCode, Injectable, Module, Post, Req, Res, UnauthorizedException, UseGuards } from '@nestjs/common';
import { AuthGuard, PassportModule, PassportStrategy } from '@nestjs/passport';
import { Strategy } from 'passport-local';
import request from 'supertest';
import { SessionGuard, XemsModule, type XemsModuleOptions, XemsService, type XemsHttpResponse } from '../src';
import { PLATFORMS, type TestPlatform, createPlatformApp } from './support/platforms';
import { cookieToken } from './support/xems-test-app';

interface User {
  id: string;
  name: string;
}

/** A passport-local strategy: password "secret" for every user. */
@Injectable()
class LocalStrategy extends PassportStrategy(Strategy) {
  validate(username: string, password: string): User {
    if (password !== 'secret') throw new UnauthorizedException();
    return { id: username, name: username.toUpperCase() };
  }
}

type PassportRequest = { user?: unknown } & Parameters<XemsService['link']>[0];

@Controller()
class AuthController {
  constructor(private readonly xems: XemsService) {}

  /** Passport checks the password and sets req.user; the session keeps it. */
  @Post('login')
  @HttpCode(200)
  @UseGuards(AuthGuard('local'))
  async login(@Req() req: PassportRequest, @Res({ passthrough: true }) res: XemsHttpResponse) {
    const user = req.user as User;
    await this.xems.link(req, res, user, { userId: user.id });
    return { user: req.user };
  }

  /** Code written for Passport: it reads req.user. */
  @Get('profile')
  @UseGuards(SessionGuard)
  profile(@Req() req: PassportRequest) {
    return { user: req.user ?? null };
  }

  @Post('logout')
  @HttpCode(200)
  @UseGuards(SessionGuard)
  async logout(@Req() req: PassportRequest, @Res({ passthrough: true }) res: XemsHttpResponse) {
    await this.xems.unlink(req, res);
    return { user: req.user ?? null };
  }
}

async function passportApp(platform: TestPlatform, options: XemsModuleOptions) {
  @Module({
    imports: [PassportModule, XemsModule.forRoot(options)],
    controllers: [AuthController],
    providers: [LocalStrategy],
  })
  class PassportAppModule {}
  const app = await createPlatformApp(PassportAppModule, platform);
  await app.listen(0, '127.0.0.1');
  return app;
}

for (const platform of PLATFORMS) {
  describe(`Passport: a local strategy logs in, then guarded routes see req.user (${platform})`, () => {
    const apps: Array<Awaited<ReturnType<typeof passportApp>>> = [];
    const start = async (options: XemsModuleOptions) => {
      const app = await passportApp(platform, options);
      apps.push(app);
      return app.getHttpServer();
    };
    after(async () => {
      await Promise.all(apps.map((a) => a.close()));
    });

    let server: Awaited<ReturnType<typeof start>>;
    before(async () => {
      server = await start({ passport: true });
    });

    it('a wrong password is refused by the strategy; no session, no cookie', async () => {
      const res = await request(server).post('/login').send({ username: 'ann', password: 'nope' });
      assert.equal(res.status, 401);
      assert.equal(cookieToken(res), undefined);
    });

    it('after login, every guarded request has req.user from the session, across rotations; logout clears it', async () => {
      const login = await request(server).post('/login').send({ username: 'ann', password: 'secret' });
      assert.equal(login.status, 200);
      assert.deepEqual(login.body, { user: { id: 'ann', name: 'ANN' } });
      let token = cookieToken(login)!;
      for (let i = 0; i < 3; i++) {
        const res = await request(server).get('/profile').set('Cookie', `xems_token=${token}`);
        assert.equal(res.status, 200);
        assert.deepEqual(res.body, { user: { id: 'ann', name: 'ANN' } });
        token = cookieToken(res)!;
      }
      const out = await request(server).post('/logout').set('Cookie', `xems_token=${token}`);
      assert.deepEqual(out.body, { user: null }, 'unlink() clears req.user');
      assert.equal((await request(server).get('/profile').set('Cookie', `xems_token=${token}`)).status, 401);
    });

    it('passport.property and passport.from choose where and what', async () => {
      const custom = await start({ passport: { property: 'user', from: (data, session) => ({ ...(data as User), sid: session.id }) } });
      const login = await request(custom).post('/login').send({ username: 'bob', password: 'secret' });
      const res = await request(custom)
        .get('/profile')
        .set('Cookie', `xems_token=${cookieToken(login)}`);
      assert.equal(res.body.user.id, 'bob');
      assert.match(res.body.user.sid, /\S+/);
    });

    it('off by default: guarded routes leave req.user alone', async () => {
      const off = await start({});
      const login = await request(off).post('/login').send({ username: 'cy', password: 'secret' });
      const res = await request(off)
        .get('/profile')
        .set('Cookie', `xems_token=${cookieToken(login)}`);
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { user: null });
    });
  });
}
