// What the packed apps do through HTTP: log in, a guarded request that rotates the token, log out.
import assert from 'node:assert/strict';
import { realpathSync } from 'node:fs';
import { XEMS_DEFAULTS } from '../../../src';
import { childPids, executableOf, isAlive, Spawned } from '../../browser/support/processes';

const COOKIE = XEMS_DEFAULTS.cookie.name;

function sessionCookie(res: Response): string | undefined {
  return res.headers.getSetCookie().find((line) => line.startsWith(`${COOKIE}=`));
}

const tokenOf = (setCookie: string) => setCookie.slice(COOKIE.length + 1).split(';')[0];

/** Logs in, rotates (GET /me presents the token and gets a new one) and logs out. */
export async function loginRotateLogout(url: string): Promise<void> {
  const login = await fetch(`${url}/login`, { method: 'POST' });
  assert.equal(login.status, 200);
  const setCookie = sessionCookie(login);
  assert.ok(setCookie, 'login sets the session cookie');
  assert.match(setCookie, /HttpOnly/i);
  const first = tokenOf(setCookie);

  const me = await fetch(`${url}/me`, { headers: { cookie: `${COOKIE}=${first}` } });
  assert.equal(me.status, 200);
  assert.deepEqual(await me.json(), { name: 'Packed' });
  const rotated = sessionCookie(me);
  assert.ok(rotated, 'the guarded request rotated the token');
  const token = tokenOf(rotated);
  assert.notEqual(token, first);

  const logout = await fetch(`${url}/logout`, { method: 'POST', headers: { cookie: `${COOKIE}=${token}` } });
  assert.equal(logout.status, 200);
  assert.match(sessionCookie(logout) ?? '', /Max-Age=0|Expires=Thu, 01 Jan 1970/i, 'logout clears the cookie');
  const after = await fetch(`${url}/me`, { headers: { cookie: `${COOKIE}=${token}` } });
  assert.equal(after.status, 401);
}

/**
 * Starts the compiled app (`node <entry>` in `app`), checks it runs `binary` as its sidecar,
 * runs the session flow, and stops it with SIGTERM: no sidecar outlives it.
 */
export async function runApp(o: { node: string; app: string; entry: string; env: NodeJS.ProcessEnv; binary: string }): Promise<void> {
  const server = new Spawned(o.node, [o.entry], { cwd: o.app, env: o.env });
  try {
    const [, url] = await server.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/, 30_000);
    const sidecars = childPids(server.child.pid!).map(executableOf);
    assert.deepEqual(sidecars, [realpathSync(o.binary)], 'the app runs the binary of the platform package');
    await loginRotateLogout(url);
    server.child.kill('SIGTERM');
    await server.waitExit(10_000);
    for (const pid of childPids(server.child.pid!)) assert.equal(isAlive(pid), false);
  } finally {
    server.child.kill('SIGKILL');
  }
}

/** Starts the app expecting it to fail at start; returns what it printed. */
export async function failingStart(o: { node: string; app: string; entry: string; env: NodeJS.ProcessEnv }): Promise<string> {
  const server = new Spawned(o.node, [o.entry], { cwd: o.app, env: o.env });
  try {
    const exit = await server.waitExit(30_000);
    assert.notEqual(exit.code, 0, `the app was expected to fail at start:\n${server.output}`);
    return server.output;
  } finally {
    server.child.kill('SIGKILL');
  }
}
