import type { Request, Response } from 'express';
import { Controller, Get, HttpCode, Param, Post, Req, Res, UseGuards } from '@nestjs/common';
import { Session, SessionGuard, XemsService } from '../../src';

/**
 * Requests held inside their handler, after SessionGuard ran (so their rotation is committed),
 * until the test releases them: the test can lose a response on purpose (destroy the
 * connection while the request is held) or let it arrive late.
 */
export class HeldRequests {
  private readonly waiting = new Map<string, { entered: () => void; release: Promise<void>; releaseNow: () => void }>();
  private readonly enteredSignals = new Map<string, Promise<void>>();

  private slot(name: string) {
    let slot = this.waiting.get(name);
    if (!slot) {
      let entered!: () => void;
      let releaseNow!: () => void;
      this.enteredSignals.set(name, new Promise<void>((r) => (entered = r)));
      const release = new Promise<void>((r) => (releaseNow = r));
      slot = { entered, release, releaseNow };
      this.waiting.set(name, slot);
    }
    return slot;
  }

  /** Called by the handler: signals that the request `name` is in, and waits for its release. */
  hold(name: string): Promise<void> {
    const slot = this.slot(name);
    slot.entered();
    return slot.release;
  }

  /** Resolves once the request `name` is held (its guard has run), or rejects after `timeoutMs`. */
  async entered(name: string, timeoutMs = 10_000): Promise<void> {
    this.slot(name);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`request ${name} was not held within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([this.enteredSignals.get(name)!, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Lets the request `name` finish (now or as soon as it is held). */
  release(name: string): void {
    this.slot(name).releaseNow();
  }
}

/** One registry per test process (each e2e file runs in its own): names are unique within a file. */
export const heldRequests = new HeldRequests();

/** Routes of the rotation suites: a held request, regenerate, and the session's public id. */
@Controller('rot')
@UseGuards(SessionGuard)
export class RotationRoutesController {
  constructor(private readonly xems: XemsService) {}

  @Get('held/:name')
  async held(@Param('name') name: string, @Session('user') user: string) {
    await heldRequests.hold(name);
    return { user };
  }

  @Post('regenerate')
  @HttpCode(200)
  async regenerate(@Req() req: Request, @Res({ passthrough: true }) res: Response) {
    await this.xems.regenerate(req, res, { keepData: true });
    return { ok: true };
  }

  @Get('id')
  id(@Req() req: Request) {
    return { id: this.xems.getSessionContext(req)!.id };
  }
}
