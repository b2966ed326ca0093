import { Body, Controller, Get, HttpCode, Module, Post, Req, UnauthorizedException } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import type { Request } from 'express';
import session from 'express-session';
import { benchUser } from '../config';

type BenchUser = ReturnType<typeof benchUser>;

declare module 'express-session' {
  interface SessionData {
    user?: BenchUser;
  }
}

function regenerate(req: Request): Promise<void> {
  return new Promise((resolve, reject) => req.session.regenerate((err) => (err ? reject(err) : resolve())));
}

function sessionUser(req: Request): BenchUser {
  const user = req.session.user;
  if (!user) throw new UnauthorizedException();
  return user;
}

/**
 * Apps 2, 3 and 7: express-session the way the tutorials teach it. Login regenerates the session
 * (session-fixation defence), /me reads it, /me-rotate regenerates it on every request and copies
 * the data, which is what rotation on every request costs with express-session.
 */
@Controller()
class ExpressSessionController {
  @Post('login')
  @HttpCode(200)
  async login(@Req() req: Request, @Body() body: { userId?: string }): Promise<{ ok: true }> {
    await regenerate(req);
    req.session.user = benchUser(String(body?.userId ?? ''));
    return { ok: true };
  }

  @Get('me')
  me(@Req() req: Request): BenchUser {
    return sessionUser(req);
  }

  @Get('me-rotate')
  async meRotate(@Req() req: Request): Promise<BenchUser> {
    const user = sessionUser(req);
    await regenerate(req);
    req.session.user = user;
    return user;
  }
}

@Module({ controllers: [ExpressSessionController] })
export class ExpressSessionAppModule {}

/**
 * The store is the only difference between app 2 (connect-redis) and app 3 (MemoryStore). App 7
 * is app 2 started twice: both processes share the cookie secret below and the redis-server.
 */
export async function useExpressSession(
  app: INestApplication,
  store: 'redis' | 'memory',
  redisPort: number | undefined,
): Promise<() => Promise<void>> {
  let sessionStore: session.Store | undefined;
  let close = async (): Promise<void> => {};
  if (store === 'redis') {
    if (!redisPort) throw new Error('the connect-redis app needs --redis-port');
    const { createClient } = await import('redis');
    const { RedisStore } = await import('connect-redis');
    const client = createClient({ socket: { host: '127.0.0.1', port: redisPort } });
    client.on('error', (err: unknown) => console.error('redis client error:', err));
    await client.connect();
    sessionStore = new RedisStore({ client, prefix: 'sess:' });
    close = async () => {
      await client.quit();
    };
  }
  app.use(
    session({
      store: sessionStore, // undefined = express-session's default MemoryStore
      secret: 'bench-only-secret-not-used-anywhere-else',
      name: 'connect.sid',
      resave: false,
      saveUninitialized: false,
      cookie: { httpOnly: true, sameSite: 'strict', maxAge: 3600_000 },
    }),
  );
  return close;
}
