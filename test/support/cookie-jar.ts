import request from 'supertest';
import { request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cookieToken } from './xems-test-app';

/**
 * One browser's cookie jar for the token cookie: every request carries what the jar holds
 * when it is sent, and every response's Set-Cookie is applied when it arrives, in arrival
 * order (as browsers do). `arrivals` records which request answered when.
 */
export class TokenCookieJar {
  readonly arrivals: string[] = [];

  constructor(
    private readonly server: Server,
    public token: string,
  ) {}

  /** Logs `user` in (POST /login of the test app) and returns the jar holding the new session's token. */
  static async login(server: Server, user: string): Promise<TokenCookieJar> {
    const res = await request(server).post('/login').send({ user });
    if (res.status !== 200) throw new Error(`login of ${user}: ${res.status}`);
    return new TokenCookieJar(server, cookieToken(res)!);
  }

  async get(path: string, label = path): Promise<request.Response> {
    return this.apply(await request(this.server).get(path).set('Cookie', `xems_token=${this.token}`), label);
  }

  async post(path: string, label = path): Promise<request.Response> {
    return this.apply(await request(this.server).post(path).set('Cookie', `xems_token=${this.token}`), label);
  }

  /**
   * Sends GET `path` and drops the connection once `abandonWhen` resolves (the user closed the
   * tab, the mobile link dropped): whatever the response would have set never reaches the jar.
   * Resolves once the connection is closed.
   */
  async lose(path: string, abandonWhen: Promise<void>): Promise<void> {
    abandonWhen.catch(() => undefined); // awaited below; not unhandled if the request fails first
    const { port } = this.server.address() as AddressInfo;
    const req = httpRequest({ host: '127.0.0.1', port, path, headers: { cookie: `xems_token=${this.token}` } });
    const closed = new Promise<void>((resolve) => req.once('close', resolve));
    let answered = false;
    req.on('error', () => undefined); // the abort itself
    req.on('response', () => (answered = true));
    req.end();
    await abandonWhen;
    req.destroy();
    await closed;
    if (answered) throw new Error(`the response to ${path} arrived before the connection was dropped`);
  }

  private apply(res: request.Response, label: string): request.Response {
    this.arrivals.push(label);
    const next = cookieToken(res);
    if (next !== undefined) this.token = next;
    return res;
  }
}
