import 'reflect-metadata';
import type { Server } from 'node:http';
import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  INestApplication,
  LoggerService,
  Module,
  Param,
  Post,
  Req,
  Res,
  UseGuards,
} from '@nestjs/common';
import { IsEmail, IsIn, IsInt, IsString, Min } from 'class-validator';
import type { Subscription } from 'rxjs';
import {
  CsrfGuard,
  Session,
  SessionContext,
  SessionGuard,
  XemsEvent,
  XemsHealthIndicator,
  XemsModule,
  XemsModuleOptions,
  XemsResponseHelpers,
  XemsService,
  XemsSessionContext,
  XemsSessionLimitError,
  XemsValidationError,
  type XemsHttpRequest as Request,
  type XemsHttpResponse,
} from '../../src';
import { type TestPlatform, type TestResponse, createPlatformApp } from './platforms';

/** Express's response or Fastify's reply: both carry status() and send(). */
type Response = XemsHttpResponse & TestResponse;

/** The schema of typed session data used by the typed-data tests. */
export class UserSessionDto {
  @IsString()
  user!: string;

  @IsEmail()
  email!: string;

  @IsIn(['user', 'admin'])
  role!: string;

  @IsInt()
  @Min(0)
  n!: number;

  greeting(): string {
    return `hello ${this.user}`;
  }
}

interface LoginBody {
  user?: string;
  rememberMe?: boolean;
  device?: string;
  ttl?: string;
  idleTimeout?: string | false;
  data?: unknown;
  typed?: boolean;
}

@Controller('auth')
class AuthController {
  constructor(private readonly xems: XemsService) {}

  @Post('login')
  @HttpCode(200)
  async login(@Req() req: Request, @Res({ passthrough: true }) res: Response, @Body() body: LoginBody = {}) {
    const user = body.user ?? 'alice';
    const data = body.data ?? { user, email: `${user}@example.test`, role: 'user', n: 0 };
    try {
      await this.xems.link(req, res, data, {
        userId: user,
        rememberMe: body.rememberMe,
        device: body.device,
        ttl: body.ttl as never,
        idleTimeout: body.idleTimeout as never,
        schema: body.typed ? UserSessionDto : undefined,
      });
    } catch (err) {
      if (err instanceof XemsSessionLimitError) {
        res.status(409);
        return { error: err.code };
      }
      if (err instanceof XemsValidationError) {
        res.status(400);
        return { error: err.code, message: err.message };
      }
      throw err;
    }
    return { ok: true, csrf: this.xems.csrfToken(req), context: this.xems.getSessionContext(req) };
  }

  /** Ported XEMS code: res.xLink / res.xUnlink (expressHelpers: true). */
  @Post('x-login')
  @HttpCode(200)
  async xLogin(@Res({ passthrough: true }) res: Response & XemsResponseHelpers, @Body() body: LoginBody = {}) {
    const token = await res.xLink({ user: body.user ?? 'xavier' }, { userId: body.user ?? 'xavier' });
    return { ok: typeof token === 'string' };
  }

  @Post('x-logout')
  @HttpCode(200)
  async xLogout(@Res({ passthrough: true }) res: Response & XemsResponseHelpers) {
    await res.xUnlink();
    return { ok: true };
  }

  @Get('helpers')
  helpers(@Res({ passthrough: true }) res: Response & Partial<XemsResponseHelpers>) {
    return { xLink: typeof res.xLink, xUnlink: typeof res.xUnlink };
  }
}

@Controller('me')
@UseGuards(SessionGuard)
class MeController {
  constructor(private readonly xems: XemsService) {}

  @Get()
  me(@Session() session: Record<string, unknown>, @SessionContext() context: XemsSessionContext) {
    return { session, context };
  }

  @Get('typed')
  typed(@Session({ schema: UserSessionDto }) session: UserSessionDto) {
    return { isInstance: session instanceof UserSessionDto, greeting: session.greeting(), email: session.email };
  }

  @Get('csrf')
  csrf(@Req() req: Request) {
    return { csrf: this.xems.csrfToken(req) };
  }

  @Get('devices')
  devices(@Session('user') user: string) {
    return this.xems.listSessions(user);
  }

  @Get('devices-explicit')
  devicesExplicit(@Req() req: Request, @Session('user') user: string) {
    return this.xems.listSessions(user, { current: req });
  }

  @Delete('devices/:id')
  async revokeDevice(@Param('id') id: string) {
    return { revoked: await this.xems.revokeSessionById(id) };
  }

  @Post('logout-others')
  @HttpCode(200)
  async logoutOthers(@Req() req: Request, @Session('user') user: string) {
    return { revoked: await this.xems.revokeSessions(user, { except: this.xems.getSessionContext(req)!.id }) };
  }

  @Post('logout-all')
  @HttpCode(200)
  async logoutAll(@Session('user') user: string) {
    return { revoked: await this.xems.revokeSessions(user) };
  }

  @Post('logout')
  @HttpCode(200)
  async logout(@Req() req: Request, @Res({ passthrough: true }) res: Response) {
    await this.xems.unlink(req, res);
    return { ok: true };
  }

  @Post('regenerate')
  @HttpCode(200)
  async regenerate(
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
    @Body() body: { keepData?: boolean; data?: unknown } = {},
  ) {
    const before = this.xems.getSessionContext(req)!.id;
    const token = await this.xems.regenerate(req, res, { keepData: body?.keepData, data: body?.data });
    return {
      ok: token !== null,
      before,
      after: this.xems.getSessionContext(req)?.id,
      data: this.xems.getSession(req),
      csrf: this.xems.csrfToken(req),
    };
  }

  @Post('update')
  @HttpCode(200)
  async update(@Req() req: Request, @Body() body: { data: unknown; typed?: boolean }) {
    try {
      return { updated: await this.xems.updateSession(req, body.data, { schema: body.typed ? UserSessionDto : undefined }) };
    } catch (err) {
      if (err instanceof XemsValidationError) return { error: err.code, message: err.message };
      throw err;
    }
  }
}

/** Unsafe routes behind CsrfGuard. */
@Controller('account')
@UseGuards(SessionGuard, CsrfGuard)
class AccountController {
  @Get()
  read(@Session('user') user: string) {
    return { user };
  }

  @Post('email')
  @HttpCode(200)
  change(@Session('user') user: string, @Body() body: { email?: string }) {
    return { user, email: body?.email };
  }

  @Delete()
  remove() {
    return { deleted: true };
  }
}

@Controller('health')
class HealthController {
  constructor(private readonly health: XemsHealthIndicator) {}

  @Get()
  async check() {
    try {
      return await this.health.isHealthy('xems');
    } catch (err) {
      return { error: (err as { causes?: unknown }).causes };
    }
  }
}

/** A Nest logger that records every line (every level), for the tests that scan logs. */
export class CapturingLogger implements LoggerService {
  readonly lines: string[] = [];
  private add(level: string, message: unknown, rest: unknown[]): void {
    this.lines.push(`${level} ${[message, ...rest].map((m) => (typeof m === 'string' ? m : JSON.stringify(m))).join(' ')}`);
  }
  log(message: unknown, ...rest: unknown[]) {
    this.add('LOG', message, rest);
  }
  error(message: unknown, ...rest: unknown[]) {
    this.add('ERROR', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]) {
    this.add('WARN', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]) {
    this.add('DEBUG', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]) {
    this.add('VERBOSE', message, rest);
  }
}

export interface FeaturesApp {
  app: INestApplication;
  xems: XemsService;
  server: Server;
  logs: CapturingLogger;
  events: XemsEvent[];
  close(): Promise<void>;
}

/**
 * A real Nest app on `platform` (Express by default; trust proxy on so tests can set the client
 * address with X-Forwarded-For) with XemsModule and the real sidecar, listening on 127.0.0.1.
 * Every log line and every event is recorded.
 */
export async function createFeaturesApp(options: XemsModuleOptions = {}, platform: TestPlatform = 'express'): Promise<FeaturesApp> {
  @Module({
    imports: [XemsModule.forRoot({ ...options, isGlobal: true })],
    controllers: [AuthController, MeController, AccountController, HealthController],
  })
  class FeaturesAppModule {}

  const logs = new CapturingLogger();
  const app = await createPlatformApp(FeaturesAppModule, platform, { logger: logs, trustProxy: true });
  const xems = app.get(XemsService);
  const events: XemsEvent[] = [];
  const sub: Subscription = xems.events$.subscribe((e) => events.push(e));
  await app.listen(0, '127.0.0.1');
  return {
    app,
    xems,
    server: app.getHttpServer() as Server,
    logs,
    events,
    close: async () => {
      await app.close();
      sub.unsubscribe();
    },
  };
}

/** Waits until `predicate` holds (polling), or fails after `timeoutMs`. */
export async function eventually(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const started = Date.now();
  while (!predicate()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
