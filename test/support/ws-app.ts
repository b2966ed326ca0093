import 'reflect-metadata';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Request, Response } from 'express';
import { Body, Controller, Get, HttpCode, INestApplication, Module, Post, Req, Res, UseGuards } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { IoAdapter } from '@nestjs/platform-socket.io';
import { WsAdapter } from '@nestjs/platform-ws';
import { MessageBody, type OnGatewayConnection, type OnGatewayInit, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import WebSocket from 'ws';
import { io, type Socket } from 'socket.io-client';
import { Session, SessionContext, SessionGuard, XemsModule, type XemsModuleOptions, XemsService, XemsSockets } from '../../src';
import type { XemsSessionContext } from '../../src';

export type WsPlatform = 'socket.io' | 'ws';
export const WS_PLATFORMS: WsPlatform[] = ['socket.io', 'ws'];
export const WS_PATH = '/live';

@Controller()
class AuthController {
  constructor(private readonly xems: XemsService) {}

  @Post('login')
  @HttpCode(200)
  async login(@Req() req: Request, @Res({ passthrough: true }) res: Response, @Body() body: { user?: string; ttl?: string }) {
    const user = body.user ?? 'alice';
    await this.xems.link(req, res, { user }, { userId: user, ttl: body.ttl as never });
    return { ok: true };
  }

  @Get('me')
  @UseGuards(SessionGuard)
  me(@Session('user') user: string) {
    return { user };
  }

  @Post('logout')
  @HttpCode(200)
  @UseGuards(SessionGuard)
  async logout(@Req() req: Request, @Res({ passthrough: true }) res: Response) {
    await this.xems.unlink(req, res);
    return { ok: true };
  }

  @Post('regenerate')
  @HttpCode(200)
  @UseGuards(SessionGuard)
  async regenerate(@Req() req: Request, @Res({ passthrough: true }) res: Response) {
    await this.xems.regenerate(req, res);
    return { ok: true };
  }
}

/** The gateway of the tests: authenticated at the handshake, every message guarded. */
@WebSocketGateway({ path: WS_PATH })
@UseGuards(SessionGuard)
class LiveGateway implements OnGatewayConnection {
  constructor(private readonly sockets: XemsSockets) {}

  handleConnection(client: object, request: unknown): Promise<XemsSessionContext | null> {
    return this.sockets.authenticate(client, request);
  }

  @SubscribeMessage('whoami')
  whoami(@Session('user') user: string, @SessionContext() ctx: XemsSessionContext, @MessageBody() body: unknown) {
    return { event: 'whoami', data: { user, id: ctx.id, rotated: ctx.rotated, echo: body } };
  }
}

/** The same gateway authenticated by XemsSockets.ioMiddleware (socket.io only): refused clients never connect. */
@WebSocketGateway({ path: WS_PATH })
@UseGuards(SessionGuard)
class LiveIoMiddlewareGateway implements OnGatewayInit {
  constructor(private readonly sockets: XemsSockets) {}

  afterInit(server: { use(fn: unknown): void }): void {
    server.use(this.sockets.ioMiddleware());
  }

  @SubscribeMessage('whoami')
  whoami(@Session('user') user: string, @SessionContext() ctx: XemsSessionContext, @MessageBody() body: unknown) {
    return { event: 'whoami', data: { user, id: ctx.id, rotated: ctx.rotated, echo: body } };
  }
}

export interface WsTestApp {
  app: INestApplication;
  xems: XemsService;
  server: Server;
  port: number;
  close(): Promise<void>;
}

/** A real Nest app (Express) with XemsModule, the real sidecar and a gateway on `platform`. */
export async function createWsApp(platform: WsPlatform, options: XemsModuleOptions = {}, ioMiddleware = false): Promise<WsTestApp> {
  @Module({
    imports: [XemsModule.forRoot({ ...options, isGlobal: true })],
    controllers: [AuthController],
    providers: [ioMiddleware ? LiveIoMiddlewareGateway : LiveGateway],
  })
  class WsAppModule {}

  const app = await NestFactory.create(WsAppModule, { logger: process.env.XEMS_TEST_LOGS ? undefined : ['error'] });
  app.useWebSocketAdapter(platform === 'ws' ? new WsAdapter(app) : new IoAdapter(app));
  await app.listen(0, '127.0.0.1');
  const server = app.getHttpServer() as Server;
  return { app, xems: app.get(XemsService), server, port: (server.address() as AddressInfo).port, close: () => app.close() };
}

/** One event a test client received. */
export interface WsEvent {
  event: string;
  data: unknown;
}

/** How a test client presents its token at the handshake. */
export type WsCredentials = { cookie?: string; header?: string; authToken?: string; userAgent?: string; forwardedFor?: string };

/** A test client over either platform, with the events it received and when it closed. */
export class TestSocket {
  readonly events: WsEvent[] = [];
  /** Resolves with performance.now() (and the ws close code and reason) when the connection is gone. */
  readonly closed: Promise<{ at: number; code?: number; reason?: string }>;
  private waiters: Array<() => void> = [];
  private markClosed!: (v: { at: number; code?: number; reason?: string }) => void;
  private readonly io?: Socket;
  private readonly ws?: WebSocket;

  constructor(platform: WsPlatform, port: number, creds: WsCredentials) {
    this.closed = new Promise((resolve) => (this.markClosed = resolve));
    const headers: Record<string, string> = {};
    if (creds.cookie) headers.cookie = `xems_token=${creds.cookie}`;
    if (creds.header) headers['x-xems-token'] = creds.header;
    if (creds.userAgent) headers['user-agent'] = creds.userAgent;
    if (creds.forwardedFor) headers['x-forwarded-for'] = creds.forwardedFor;
    if (platform === 'ws') {
      this.ws = new WebSocket(`ws://127.0.0.1:${port}${WS_PATH}`, { headers });
      this.ws.on('message', (raw) => this.push(JSON.parse(String(raw)) as WsEvent));
      this.ws.on('close', (code, reason) => this.markClosed({ at: performance.now(), code, reason: String(reason) }));
      this.ws.on('error', () => undefined);
    } else {
      this.io = io(`http://127.0.0.1:${port}`, {
        path: WS_PATH,
        transports: ['websocket'],
        reconnection: false,
        extraHeaders: headers,
        auth: creds.authToken ? { token: creds.authToken } : {},
      });
      this.io.onAny((event: string, data: unknown) => this.push({ event, data }));
      this.io.on('disconnect', () => this.markClosed({ at: performance.now() }));
      this.io.on('connect_error', (error: Error & { data?: unknown }) => {
        this.push({ event: 'connect_error', data: { message: error.message, data: error.data } });
        this.markClosed({ at: performance.now() });
      });
    }
  }

  /** Resolves once the connection is open (the handshake's session check may still be under way). */
  async opened(): Promise<void> {
    if (this.ws) {
      if (this.ws.readyState === WebSocket.OPEN) return;
      await new Promise<void>((resolve, reject) => {
        this.ws!.once('open', () => resolve());
        this.ws!.once('close', () => reject(new Error('closed before open')));
      });
    } else if (!this.io!.connected) {
      await new Promise<void>((resolve) => this.io!.once('connect', () => resolve()));
    }
  }

  send(event: string, data: unknown = {}): void {
    if (this.ws) this.ws.send(JSON.stringify({ event, data }));
    else this.io!.emit(event, data);
  }

  /** Sends `event` and waits (bounded) for its answer or an `exception` event. */
  async ask(event: string, data: unknown = {}, timeoutMs = 5000): Promise<WsEvent> {
    const from = this.events.length;
    this.send(event, data);
    return this.waitFor((e) => e.event === event || e.event === 'exception', timeoutMs, from);
  }

  /** The first event (from index `from`) matching `match`, waited for at most timeoutMs. */
  async waitFor(match: (e: WsEvent) => boolean, timeoutMs = 5000, from = 0): Promise<WsEvent> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const found = this.events.slice(from).find(match);
      if (found) return found;
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`no matching event within ${timeoutMs} ms; got ${JSON.stringify(this.events)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.ws?.close();
    this.io?.disconnect();
  }

  private push(e: WsEvent): void {
    this.events.push(e);
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

/** Whether the connection closes within ms. */
export async function closesWithin(socket: TestSocket, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  const closed = socket.closed.then(() => true);
  const result = await Promise.race([closed, timeout]);
  clearTimeout(timer);
  return result;
}
