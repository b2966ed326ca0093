import { Body, Controller, Get, HttpCode, Inject, Module, Post, Req, Res, UseGuards, type DynamicModule } from '@nestjs/common';
import type { INestApplication, LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Request, Response } from 'express';
import { benchUser } from '../config';
import { loadXems } from '../micro/xems-context';

type BenchUser = ReturnType<typeof benchUser>;

export type XemsBenchOptions = Parameters<ReturnType<typeof loadXems>['XemsModule']['forRoot']>[0];

/**
 * Apps 4, 5 and 6: nestjs-xems with its defaults (rotation on every request, Secure HttpOnly
 * SameSite=Strict cookie); app 5 passes `autoRotation: false`, app 6 a Redis store. The library
 * is the repo's build.
 */
export async function createXemsApp(options: XemsBenchOptions, logger: LogLevel[]): Promise<INestApplication> {
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

  const xemsModule: DynamicModule = XemsModule.forRoot(options);

  @Module({ imports: [xemsModule], controllers: [XemsBenchController] })
  class XemsBenchModule {}

  return NestFactory.create(XemsBenchModule, { logger });
}
