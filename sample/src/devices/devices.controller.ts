import { Controller, Delete, Get, HttpCode, NotFoundException, Param, Post, Req, Res, UseGuards } from '@nestjs/common';
import type { Request, Response } from 'express';
import { Session, SessionGuard, XemsService } from '../../../src';
import type { ActiveSession } from '../auth/session.types';

/** The signed-in user's sessions ("devices"): list, revoke one, revoke all. */
@Controller('api')
@UseGuards(SessionGuard)
export class DevicesController {
  constructor(private readonly xems: XemsService) {}

  @Get('devices')
  async list(@Session() session: ActiveSession, @Req() req: Request) {
    // The request marks the caller's session current on every Node version (requestContext 'auto' does it on Node 24+ only).
    const devices = await this.xems.listSessions(session.userId, { current: req });
    devices.sort((a, b) => Number(b.current) - Number(a.current) || b.lastSeenAt - a.lastSeenAt);
    return { devices };
  }

  /** Session ids are public: check the id is one of this user's before revoking it. */
  @Delete('devices/:id')
  @HttpCode(200)
  async revoke(@Session() session: ActiveSession, @Param('id') id: string, @Req() req: Request, @Res({ passthrough: true }) res: Response) {
    const device = (await this.xems.listSessions(session.userId, { current: req })).find((d) => d.id === id);
    if (!device) throw new NotFoundException('No such device among your sessions');
    if (device.current) await this.xems.unlink(req, res);
    else await this.xems.revokeSessionById(id);
    return { revoked: id };
  }

  @Post('logout-all')
  @HttpCode(200)
  async logoutEverywhere(@Session() session: ActiveSession, @Req() req: Request, @Res({ passthrough: true }) res: Response) {
    const revoked = await this.xems.revokeSessions(session.userId);
    // Clears this browser's cookie (its session is already among the revoked ones).
    await this.xems.unlink(req, res);
    return { revoked };
  }
}
