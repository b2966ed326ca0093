// @opentelemetry/api is an optional peer dependency: without it the module starts and works
// (telemetry 'auto'), and loads nothing of it; `enabled: true` is then a configuration error.
// Each case runs the real app and sidecar in a child process whose require cannot resolve any
// @opentelemetry package (test/support/otel-absent-hook.ts), as in an app that never installed it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const support = join(__dirname, 'support');

function runWithoutOtel(telemetry: Record<string, unknown>, mode = 'use', hook = true): Record<string, unknown> {
  const preload = hook ? ['-r', join(support, 'otel-absent-hook.js')] : [];
  const child = spawnSync(process.execPath, [...preload, join(support, 'otel-absent-app.js'), JSON.stringify(telemetry), mode], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  const line = child.stdout.trim().split('\n').pop() ?? '';
  assert.ok(line.startsWith('{'), `the child printed no report (status ${child.status}): ${child.stdout}\n${child.stderr}`);
  return JSON.parse(line) as Record<string, unknown>;
}

describe('OpenTelemetry API absent', { timeout: 120_000 }, () => {
  it('(control) the same child without the hook loads the installed @opentelemetry/api', () => {
    const report = runWithoutOtel({}, 'start-only', false);
    assert.equal(report.started, true, JSON.stringify(report.error));
    assert.ok(
      (report.otelLoaded as string[]).some((path) => path.includes('@opentelemetry/api')),
      JSON.stringify(report.otelLoaded),
    );
  });

  it("the module starts and works with telemetry 'auto' (the default), loading no @opentelemetry module", () => {
    const report = runWithoutOtel({});
    assert.equal(report.error, undefined, JSON.stringify(report.error));
    assert.equal(report.login, 200);
    assert.equal(report.me, 200);
    assert.equal(report.user, 'nobody-watches');
    assert.equal(report.rotated, true);
    assert.equal(report.sessions, 1);
    const types = report.eventTypes as string[];
    assert.ok(types.includes('session.created') && types.includes('session.rotated'), types.join());
    assert.deepEqual(report.otelLoaded, []);
  });

  it('enabled: true without the package is refused at start-up with a fix', () => {
    const report = runWithoutOtel({ enabled: true }, 'start-only');
    const error = report.error as { name: string; code: string; message: string; hint: string };
    assert.equal(error.name, 'XemsConfigError');
    assert.equal(error.code, 'INVALID_OPTION');
    assert.match(error.message, /telemetry\.enabled.*@opentelemetry\/api is not installed/);
    assert.match(error.hint, /npm install @opentelemetry\/api/);
    assert.deepEqual(report.otelLoaded, []);
  });

  it('enabled: false starts without looking for the package', () => {
    const report = runWithoutOtel({ enabled: false }, 'start-only');
    assert.equal(report.started, true, JSON.stringify(report.error));
    assert.deepEqual(report.otelLoaded, []);
  });
});
