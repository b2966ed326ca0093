import 'reflect-metadata';
import { type Server, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import type { XemsHttpRequest as Request, XemsHttpResponse as Response } from '../../src';
import {
  Body,
  Controller,
  ForbiddenException,
  Get,
  HttpCode,
  INestApplication,
  Module,
  Post,
  Query,
  Redirect,
  Req,
  Res,
  StreamableFile,
  Type,
  UseGuards,
} from '@nestjs/common';
import { Session, SessionGuard, XemsModule, XemsModuleOptions, XemsSandbox, XemsService } from '../../src';
import { type CreateOptions, type TestPlatform, type TestResponse, createPlatformApp } from './platforms';

export { PLATFORMS, type TestPlatform } from './platforms';

/** The Node response of a handler that takes over the response: Fastify's must be hijacked first. */
function nodeResponseOf(res: Response): ServerResponse {
  if (res instanceof ServerResponse) return res;
  (res as unknown as { hijack(): void }).hijack();
  return res.raw;
}

@Controller()
class AuthController {
  constructor(private readonly xems: XemsService) {}

  @Post('login')
  @HttpCode(200)
  async login(
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
    @Body() body: { user?: string; sandbox?: string; ttl?: string; rememberMe?: boolean },
  ) {
    const user = body.user ?? 'alice';
    await this.xems.link(
      req,
      res,
      { user, email: `${user}@example.test`, n: 0 },
      { sandbox: body.sandbox, userId: user, ttl: body.ttl as never, rememberMe: body.rememberMe },
    );
    return { ok: true, session: this.xems.getSession(req) };
  }

  @Post('logout')
  @HttpCode(200)
  async logout(@Req() req: Request, @Res({ passthrough: true }) res: Response) {
    await this.xems.unlink(req, res);
    return { ok: true };
  }
}

@Controller('me')
@UseGuards(SessionGuard)
class MeController {
  constructor(private readonly xems: XemsService) {}

  @Get()
  me(@Session() session: { user: string }, @Session('email') email: string) {
    return { user: session.user, email };
  }

  @Get('slow')
  async slow(@Query('ms') ms = '50', @Session('user') user: string) {
    await new Promise((r) => setTimeout(r, Number(ms)));
    return { user };
  }

  @Get('redirect')
  @Redirect('/elsewhere', 302)
  redirect() {
    return undefined;
  }

  @Get('throw')
  throws() {
    throw new ForbiddenException('nope');
  }

  @Get('file')
  file() {
    return new StreamableFile(Buffer.from('file-body'), { type: 'text/plain' });
  }

  @Get('raw')
  raw(@Res() res: TestResponse) {
    res.status(201).send({ raw: true });
  }

  /** The app sets a cookie of its own (Express's res.header, Fastify's reply.header): ours joins it. */
  @Get('other-cookie')
  otherCookie(@Res({ passthrough: true }) res: TestResponse) {
    res.header('Set-Cookie', 'theme=dark; Path=/');
    return { ok: true };
  }

  /** A stream of several chunks (chunked transfer). */
  @Get('stream')
  stream() {
    return new StreamableFile(Readable.from(['chunk-1,', 'chunk-2']), { type: 'text/plain' });
  }

  /** The handler writes the Node response itself (Express's res; Fastify's reply.raw after reply.hijack()). */
  @Get('node')
  node(@Res() res: Response) {
    nodeResponseOf(res).writeHead(202, { 'content-type': 'text/plain' });
    nodeResponseOf(res).end('written by hand');
  }

  @Get('devices')
  devices(@Req() req: Request, @Session('user') user: string) {
    // The request passed explicitly (works with requestContext on or off).
    return this.xems.listSessions(user, { current: req });
  }

  @Post('count')
  @HttpCode(200)
  async count(@Req() req: Request, @Session() session: { n: number }) {
    const updated = await this.xems.updateSession(req, { ...session, n: session.n + 1 });
    return { updated, n: this.xems.getSession<{ n: number }>(req)!.n };
  }

  @Post('logout')
  @HttpCode(200)
  async logout(@Req() req: Request, @Res({ passthrough: true }) res: Response) {
    await this.xems.unlink(req, res);
    return { ok: true };
  }
}

@Controller('admin')
@XemsSandbox('admin')
@UseGuards(SessionGuard)
class AdminController {
  @Get('me')
  me(@Session('user') user: string) {
    return { admin: user };
  }
}

@Controller('mixed')
@UseGuards(SessionGuard)
class MixedController {
  @Get('admin')
  @XemsSandbox('admin')
  admin(@Session('user') user: string) {
    return { admin: user };
  }
}

export interface TestApp {
  app: INestApplication;
  xems: XemsService;
  server: Server;
  close(): Promise<void>;
}

/**
 * A real Nest app on `platform` (Express by default) with XemsModule and the real sidecar,
 * listening on 127.0.0.1; `controllers` are a suite's own routes.
 */
export async function createTestApp(
  options: XemsModuleOptions = {},
  platform: TestPlatform = 'express',
  controllers: Type<unknown>[] = [],
  platformOptions: CreateOptions = {},
): Promise<TestApp> {
  @Module({
    imports: [XemsModule.forRoot({ ...options, isGlobal: true })],
    controllers: [AuthController, MeController, AdminController, MixedController, ...controllers],
  })
  class TestAppModule {}

  const app = await createPlatformApp(TestAppModule, platform, platformOptions);
  await app.listen(0, '127.0.0.1');
  return {
    app,
    xems: app.get(XemsService),
    server: app.getHttpServer() as Server,
    close: () => app.close(),
  };
}

/** The value of our cookie in a response's Set-Cookie, or undefined. */
export function cookieToken(res: { headers: Record<string, unknown> }, name = 'xems_token'): string | undefined {
  const line = setCookieLine(res, name);
  if (!line) return undefined;
  return decodeURIComponent(line.slice(name.length + 1).split(';')[0]);
}

export function setCookieLine(res: { headers: Record<string, unknown> }, name = 'xems_token'): string | undefined {
  const raw = res.headers['set-cookie'];
  const lines = Array.isArray(raw) ? (raw as string[]) : raw ? [String(raw)] : [];
  return lines.find((l) => l.startsWith(`${name}=`));
}

/** Cookie attributes of our Set-Cookie line, lower-cased names. */
export function cookieAttributes(line: string): Map<string, string> {
  const attrs = new Map<string, string>();
  for (const part of line.split(';').slice(1)) {
    const [k, ...v] = part.trim().split('=');
    attrs.set(k.toLowerCase(), v.join('='));
  }
  return attrs;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
