import { Body, Controller, Get, HttpCode, Inject, Module, Post, Req, Res, UseGuards, type DynamicModule } from '@nestjs/common';
import type { INestApplication, LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Request, Response } from 'express';
import { benchUser } from '../config';
import { loadXems } from '../micro/xems-context';

type BenchUser = ReturnType<typeof benchUser>;

/**
 * Apps 4 and 5: nestjs-xems with its defaults (rotation on every request, Secure HttpOnly
 * SameSite=Strict cookie), app 5 with `autoRotation: false`. The library is the repo's build.
 */
export async function createXemsApp(rotateEveryRequest: boolean, logger: LogLevel[]): Promise<INestApplication> {
  const { XemsModule, XemsService, SessionGuard, Session } = loadXems();

  @Controller()
  class XemsBenchController {
    constructor(@Inject(XemsService) private readonly xems: InstanceType<typeof XemsService>) {}

    @Post('login')
    @HttpCode(200)
    async login(@Req() req: Request, @Res({ passthrough: true }) res: Response, @Body() body: { userId?: string }): Promise<{ ok: true }> {
      await this.xems.link(req, res, benchUser(String(body?.userId ?? '')));
      return { ok: true };
    }

    @Get('me')
    @UseGuards(SessionGuard)
    me(@Session() user: BenchUser): BenchUser {
      return user;
    }
  }

  const xemsModule: DynamicModule = XemsModule.forRoot(rotateEveryRequest ? {} : { autoRotation: false });

  @Module({ imports: [xemsModule], controllers: [XemsBenchController] })
  class XemsBenchModule {}

  return NestFactory.create(XemsBenchModule, { logger });
}
