// Run by test/telemetry-absent.e2e-spec.ts in a child process whose require cannot find
// @opentelemetry/api (otel-absent-hook.ts): starts the features app with the telemetry option
// given in argv[2] (JSON), logs in and uses the session over HTTP (or, with argv[3] 'start-only',
// only starts and stops the module), and prints what happened as one JSON line; a start-up
// error is printed, not thrown.
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { XemsError, XemsModule } from '../../src';
import { createFeaturesApp } from './xems-features-app';

/** Start-up alone, with abortOnError off so that a refused option is thrown (not exited on). */
async function startOnly(telemetry: Record<string, unknown>): Promise<void> {
  @Module({ imports: [XemsModule.forRoot({ telemetry })] })
  class StartOnlyModule {}
  const app = await NestFactory.create(StartOnlyModule, { abortOnError: false, logger: false });
  await app.init();
  await app.close();
}

/** Logs in and uses the session over HTTP; what happened. */
async function useSessions(telemetry: Record<string, unknown>): Promise<Record<string, unknown>> {
  const t = await createFeaturesApp({ telemetry });
  try {
    const { port } = t.server.address() as { port: number };
    const base = `http://127.0.0.1:${port}`;
    const login = await fetch(`${base}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user: 'nobody-watches' }),
    });
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0];
    const me = await fetch(`${base}/me`, { headers: { cookie } });
    return {
      login: login.status,
      me: me.status,
      user: ((await me.json()) as { session?: { user?: string } }).session?.user,
      rotated: (me.headers.get('set-cookie') ?? '').startsWith('xems_token='),
      sessions: (await t.xems.stats()).sandboxes['xems.session']?.sessions,
      eventTypes: t.events.map((e) => e.type),
    };
  } finally {
    await t.close();
  }
}

async function main(): Promise<void> {
  const telemetry = JSON.parse(process.argv[2] ?? '{}') as Record<string, unknown>;
  let report: Record<string, unknown>;
  try {
    report = process.argv[3] === 'start-only' ? (await startOnly(telemetry), { started: true }) : await useSessions(telemetry);
  } catch (err) {
    report = { error: err instanceof XemsError ? { name: err.name, code: err.code, message: err.message, hint: err.hint } : String(err) };
  }
  report.otelLoaded = Object.keys(require.cache).filter((path) => path.includes('@opentelemetry'));
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

void main();
