import { parse } from 'set-cookie-parser';

/**
 * One client's cookies, following every Set-Cookie the way a browser does for one site: a new
 * value replaces the old one, an expired cookie (Max-Age <= 0 or Expires in the past) is removed.
 * Path and domain are not matched (every app sets path=/ on 127.0.0.1), and Secure cookies are
 * sent over http as browsers do for localhost addresses.
 */
export class CookieJar {
  private readonly cookies = new Map<string, string>();
  private header = '';

  /** Applies a response's Set-Cookie headers; returns the names whose value changed. */
  update(setCookie: string[] | undefined): string[] {
    if (!setCookie || setCookie.length === 0) return [];
    const changed: string[] = [];
    const now = Date.now();
    for (const c of parse(setCookie, { decodeValues: false })) {
      const expired = (c.maxAge !== undefined && c.maxAge <= 0) || (c.expires !== undefined && c.expires.getTime() <= now);
      const before = this.cookies.get(c.name);
      if (expired) {
        if (before !== undefined) changed.push(c.name);
        this.cookies.delete(c.name);
      } else if (before !== c.value) {
        changed.push(c.name);
        this.cookies.set(c.name, c.value);
      }
    }
    if (changed.length) this.header = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    return changed;
  }

  get(name: string): string | undefined {
    return this.cookies.get(name);
  }

  /** The Cookie request header ('' when the jar is empty). */
  cookieHeader(): string {
    return this.header;
  }
}
