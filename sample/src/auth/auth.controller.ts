import { Body, Controller, Get, HttpCode, Logger, Post, Req, Res, UnauthorizedException, UseGuards } from '@nestjs/common';
import type { Request, Response } from 'express';
import { randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { Session, SessionGuard, XemsSandbox, XemsService } from '../../../src';
import { UsersService, type PublicUser } from '../users/users.service';
import { LoginDto, RegisterDto, VerifyCodeDto } from './auth.dto';
import { ActiveSession, OTP_MAX_ATTEMPTS, OTP_SANDBOX, OTP_TTL, OTP_TTL_MS, type PendingLogin } from './session.types';

function codesMatch(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

@Controller('api')
export class AuthController {
  private readonly logger = new Logger('SampleAuth');

  constructor(
    private readonly users: UsersService,
    private readonly xems: XemsService,
  ) {}

  @Post('register')
  async register(@Body() dto: RegisterDto): Promise<Omit<PublicUser, 'id'>> {
    const user = await this.users.register(dto.email, dto.name, dto.password);
    this.logger.log(`Registered ${user.email}`);
    return { email: user.email, name: user.name };
  }

  /**
   * Step 1: email + password. Opens a pending session in the `otp-pending` sandbox (15 minutes)
   * holding the one-time code; the pending token travels in the same HttpOnly cookie.
   */
  @Post('login')
  @HttpCode(200)
  async login(@Body() dto: LoginDto, @Req() req: Request, @Res({ passthrough: true }) res: Response) {
    const user = await this.users.authenticate(dto.email, dto.password);
    if (!user) throw new UnauthorizedException('Wrong email or password');
    const code = randomInt(0, 1_000_000).toString().padStart(6, '0');
    const pending: PendingLogin = { ...user, code, challenge: randomBytes(16).toString('hex') };
    await this.xems.link(req, res, pending, { sandbox: OTP_SANDBOX, ttl: OTP_TTL });
    // Demo only: a real application sends the code by email or SMS and never logs it.
    this.logger.log(`One-time code for ${user.email}: ${code} (valid 15 minutes)`);
    return { step: 'verify-code', demoCode: code, expiresAt: Date.now() + OTP_TTL_MS };
  }

  /**
   * Step 2: the code. The guard resolves the pending session in `otp-pending` (an active session
   * or no cookie gets 401). On success the pending session is replaced by an active one.
   */
  @Post('login/verify')
  @HttpCode(200)
  @UseGuards(SessionGuard)
  @XemsSandbox(OTP_SANDBOX)
  async verify(
    @Body() dto: VerifyCodeDto,
    @Session() pending: PendingLogin,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ) {
    const attempts = this.xems.from(OTP_SANDBOX);
    const attemptsKey = `attempts:${pending.challenge}`;
    if (!codesMatch(dto.code, pending.code)) {
      const failed = ((await attempts.get<number>(attemptsKey)) ?? 0) + 1;
      if (failed >= OTP_MAX_ATTEMPTS) {
        await attempts.del(attemptsKey);
        await this.xems.unlink(req, res);
        throw new UnauthorizedException('Too many wrong codes: log in again');
      }
      await attempts.set(attemptsKey, failed, OTP_TTL);
      throw new UnauthorizedException(`Wrong code (${OTP_MAX_ATTEMPTS - failed} attempts left)`);
    }
    await attempts.del(attemptsKey);
    const session: ActiveSession = { userId: pending.id, email: pending.email, name: pending.name, loginAt: Date.now() };
    // link() first revokes the request's current session, which is the pending one: the
    // pending token is deleted and can never be replayed (session-fixation defence).
    // The session records the login as its authentication (password, then the one-time code):
    // the e-mail change below asks for a recent one.
    await this.xems.link(req, res, session, { userId: pending.id, methods: ['pwd', 'otp'] });
    this.logger.log(`${pending.email} logged in`);
    return { user: { email: session.email, name: session.name } };
  }

  @Get('me')
  @UseGuards(SessionGuard)
  me(@Session() session: ActiveSession) {
    return {
      user: { email: session.email, name: session.name },
      session: { loginAt: session.loginAt },
    };
  }

  /** Idempotent: works with or without a live session, and always clears the cookie. */
  @Post('logout')
  @HttpCode(200)
  async logout(@Req() req: Request, @Res({ passthrough: true }) res: Response) {
    await this.xems.unlink(req, res);
    return { loggedOut: true };
  }
}
