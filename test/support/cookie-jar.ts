import request from 'supertest';
import type { Server } from 'node:http';
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

  async get(path: string, label = path): Promise<request.Response> {
    const res = await request(this.server).get(path).set('Cookie', `xems_token=${this.token}`);
    this.arrivals.push(label);
    const next = cookieToken(res);
    if (next !== undefined) this.token = next;
    return res;
  }
}
