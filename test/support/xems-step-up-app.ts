import 'reflect-metadata';
import type { Server } from 'node:http';
import type { Request, Response } from 'express';
import { Body, Controller, Get, HttpCode, Module, Post, Req, Res, UseGuards } from '@nestjs/common';
import type { Subscription } from 'rxjs';
import {
  RequireFreshAuth,
  Session,
  SessionGuard,
  type XemsAuthMethod,
  XemsEvent,
  XemsModule,
  XemsModuleOptions,
  XemsService,
  XemsValidationError,
} from '../../src';
import { type TestPlatform, createPlatformApp } from './platforms';

@Controller('auth')
class StepUpAuthController {
  constructor(private readonly xems: XemsService) {}

  @Post('login')
  @HttpCode(200)
  async login(
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
    @Body() body: { user?: string; methods?: XemsAuthMethod[] } = {},
  ) {
    const user = body.user ?? 'alice';
    try {
      await this.xems.link(req, res, { user }, { userId: user, methods: body.methods });
    } catch (err) {
      if (err instanceof XemsValidationError) {
        res.status(400);
        return { error: err.code };
      }
      throw err;
    }
    return { context: this.xems.getSessionContext(req) };
  }
}

/** SessionGuard on the controller and @RequireFreshAuth on some handlers: the token is resolved once. */
@Controller('me')
@UseGuards(SessionGuard)
class StepUpMeController {
  constructor(private readonly xems: XemsService) {}

  @Get()
  me(@Req() req: Request) {
    return { context: this.xems.getSessionContext(req) };
  }

  @Get('sensitive')
  @RequireFreshAuth('2s')
  sensitive() {
    return { ok: true };
  }

  @Get('passkey-only')
  @RequireFreshAuth('1m', { methods: ['webauthn'] })
  passkeyOnly() {
    return { ok: true };
  }

  @Get('devices')
  devices(@Session('user') user: string) {
    return this.xems.listSessions(user);
  }

  @Post('reauthenticate')
  @HttpCode(200)
  async reauthenticate(@Req() req: Request, @Res({ passthrough: true }) res: Response, @Body() body: { methods?: XemsAuthMethod[] } = {}) {
    const before = this.xems.getSessionContext(req)!.id;
    const token = await this.xems.reauthenticated(req, res, { methods: body?.methods });
    return { ok: token !== null, before, context: this.xems.getSessionContext(req) };
  }

  @Post('credential-change')
  @HttpCode(200)
  async credentialChange(@Req() req: Request, @Res({ passthrough: true }) res: Response) {
    const revoked = await this.xems.onCredentialChange(req, res);
    return { revoked, context: this.xems.getSessionContext(req) };
  }
}

/** A route guarded by @RequireFreshAuth alone (it applies SessionGuard itself), with the module's default age. */
@Controller('alone')
class StepUpAloneController {
  @Get()
  @RequireFreshAuth()
  alone() {
    return { ok: true };
  }
}

export interface StepUpApp {
  xems: XemsService;
  server: Server;
  events: XemsEvent[];
  close(): Promise<void>;
}

/**
 * A real Nest app on `platform` (Express by default) with XemsModule and the real sidecar,
 * listening on 127.0.0.1. The handlers' `res` is typed as Express's; on Fastify it is the
 * FastifyReply, which has the same `status()` and which link/reauthenticated take as well.
 */
export async function createStepUpApp(options: XemsModuleOptions = {}, platform: TestPlatform = 'express'): Promise<StepUpApp> {
  @Module({
    imports: [XemsModule.forRoot({ ...options, isGlobal: true })],
    controllers: [StepUpAuthController, StepUpMeController, StepUpAloneController],
  })
  class StepUpAppModule {}

  const app = await createPlatformApp(StepUpAppModule, platform, { logger: false });
  const xems = app.get(XemsService);
  const events: XemsEvent[] = [];
  const sub: Subscription = xems.events$.subscribe((e) => events.push(e));
  await app.listen(0, '127.0.0.1');
  return {
    xems,
    server: app.getHttpServer() as Server,
    events,
    close: async () => {
      await app.close();
      sub.unsubscribe();
    },
  };
}
