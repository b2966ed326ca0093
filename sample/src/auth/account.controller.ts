import { Body, Controller, HttpCode, Post, Req, Res, UnauthorizedException, UseGuards } from '@nestjs/common';
import type { Request, Response } from 'express';
import { RequireFreshAuth, Session, SessionGuard, XemsService } from '../../../src';
import { UsersService } from '../users/users.service';
import { ChangeEmailDto, PasswordDto } from './auth.dto';
import type { ActiveSession } from './session.types';

/** How recent the last authentication must be to change the e-mail address. */
export const EMAIL_CHANGE_FRESHNESS = '5m';

/**
 * Sensitive account changes behind a step-up: changing the e-mail address needs an
 * authentication less than 5 minutes old. Otherwise the API answers 401 with code
 * XEMS_FRESH_AUTH_REQUIRED and a WWW-Authenticate challenge; the page then asks for the
 * password again (POST /api/reauthenticate) and retries.
 */
@Controller('api')
@UseGuards(SessionGuard)
export class AccountController {
  constructor(
    private readonly users: UsersService,
    private readonly xems: XemsService,
  ) {}

  /** "Re-enter your password": records a fresh authentication (and gives the session a new identity). */
  @Post('reauthenticate')
  @HttpCode(200)
  async reauthenticate(
    @Body() dto: PasswordDto,
    @Session() session: ActiveSession,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ) {
    const user = await this.users.authenticate(session.email, dto.password);
    if (!user || user.id !== session.userId) throw new UnauthorizedException('Wrong password');
    await this.xems.reauthenticated(req, res, { methods: ['pwd'] });
    return { authenticatedAt: this.xems.getSessionContext(req)?.authenticatedAt };
  }

  @Post('account/email')
  @HttpCode(200)
  @RequireFreshAuth(EMAIL_CHANGE_FRESHNESS)
  async changeEmail(@Body() dto: ChangeEmailDto, @Session() session: ActiveSession, @Req() req: Request) {
    const user = await this.users.changeEmail(session.email, dto.email);
    await this.xems.updateSession(req, { ...session, email: user.email });
    return { user: { email: user.email, name: user.name } };
  }
}
