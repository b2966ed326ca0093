import { Body, Controller, Get, HttpCode, Module, Post } from '@nestjs/common';
import { benchUser } from '../config';

/** App 1, the ceiling: the same routes without any session. */
@Controller()
class BareController {
  @Post('login')
  @HttpCode(200)
  login(@Body() body: { userId?: string }): { ok: true; userId: string } {
    return { ok: true, userId: String(body?.userId ?? '') };
  }

  @Get('me')
  me(): ReturnType<typeof benchUser> {
    return benchUser('anonymous');
  }
}

@Module({ controllers: [BareController] })
export class BareAppModule {}
