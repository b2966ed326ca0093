import { XEMS_DEFAULTS, type XemsSessionInfo } from '../../../src';

const COOKIE = XEMS_DEFAULTS.cookie.name;

/**
 * The fields of the sample API's JSON answers that the tests read. Which of them an answer has
 * depends on the route (an error has `message`); the tests assert on each one they read, so
 * they are typed as present.
 */
export interface SampleApiBody {
  /** An error's message. */
  message: string;
  /** POST /api/login: the demo's one-time code. */
  demoCode: string;
  /** POST /api/login/verify and GET /api/me. */
  user: { email: string; name: string };
  /** GET /api/devices. */
  devices: XemsSessionInfo[];
  /** DELETE /api/devices/:id (the id) and POST /api/logout-all (how many). */
  revoked: string | number;
}

export interface ApiResult {
  status: number;
  headers: Headers;
  /** The parsed JSON answer (the text itself when it is not JSON). */
  body: SampleApiBody;
  /** The Set-Cookie line of the session cookie in this response, if any. */
  setCookie?: string;
}

/**
 * A minimal HTTP client that keeps the session cookie like a browser would (it reads Set-Cookie
 * itself: the cookie is Secure, and a cookie jar would refuse to send it over http).
 */
export class CookieClient {
  token: string | undefined;

  constructor(
    private readonly baseUrl: string,
    private readonly userAgent = 'sample-api-test',
  ) {}

  async request(method: string, path: string, body?: unknown): Promise<ApiResult> {
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': this.userAgent };
    if (this.token !== undefined) headers.cookie = `${COOKIE}=${this.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(this.baseUrl + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const setCookie = res.headers.getSetCookie().find((line) => line.startsWith(`${COOKIE}=`));
    if (setCookie !== undefined) {
      const value = setCookie.slice(COOKIE.length + 1).split(';')[0];
      const cleared = value === '' || /max-age=0/i.test(setCookie) || /expires=Thu, 01 Jan 1970/i.test(setCookie);
      this.token = cleared ? undefined : value;
    }
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, headers: res.headers, body: parsed as SampleApiBody, setCookie };
  }

  get(path: string) {
    return this.request('GET', path);
  }

  post(path: string, body?: unknown) {
    return this.request('POST', path, body ?? {});
  }

  delete(path: string) {
    return this.request('DELETE', path);
  }
}
