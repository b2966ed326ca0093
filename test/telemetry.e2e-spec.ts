// OpenTelemetry with the SDK's in-memory metric exporter and span exporter, against the real
// sidecar: the counters move by exactly what a scripted login / rotate / reuse / logout /
// expiry sequence does, and no exported attribute carries a token, session data, an address or
// a user agent.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { AsyncLocalStorage } from 'node:async_hooks';
import { type Attributes, type Context, type ContextManager, ROOT_CONTEXT, context, trace } from '@opentelemetry/api';
import {
  AggregationTemporality,
  DataPointType,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { XEMS_METER_NAME, XEMS_METRICS } from '../src';
import { FeaturesApp, createFeaturesApp, eventually } from './support/xems-features-app';
import { cookieToken, sleep } from './support/xems-test-app';

const SANDBOX = 'xems.session';
const USER_AGENT = 'otel-probe-agent/9.9 (telemetry test)';
const CLIENT_IP = '203.0.113.77';
const DATA_MARKER = 'data-marker-4f1c9e';

/** The smallest AsyncLocalStorage context manager (what the Node SDK registers), for the parent-span test. */
class AlsContextManager implements ContextManager {
  private readonly storage = new AsyncLocalStorage<Context>();
  active(): Context {
    return this.storage.getStore() ?? ROOT_CONTEXT;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    ctx: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    return this.storage.run(ctx, () => fn.call(thisArg, ...args));
  }
  bind<T>(_ctx: Context, target: T): T {
    return target;
  }
  enable(): this {
    return this;
  }
  disable(): this {
    this.storage.disable();
    return this;
  }
}

class Telemetry {
  readonly metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  readonly reader = new PeriodicExportingMetricReader({ exporter: this.metricExporter, exportIntervalMillis: 3_600_000 });
  readonly meterProvider = new MeterProvider({ readers: [this.reader] });
  readonly spanExporter = new InMemorySpanExporter();
  readonly tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(this.spanExporter)] });

  /** Collects now (the gauges' callback runs) and returns the newest export. */
  async collect(): Promise<ResourceMetrics> {
    this.metricExporter.reset();
    await this.reader.forceFlush();
    const exported = this.metricExporter.getMetrics();
    assert.ok(exported.length > 0, 'a collection was exported');
    return exported[exported.length - 1];
  }

  async shutdown(): Promise<void> {
    await this.meterProvider.shutdown();
    await this.tracerProvider.shutdown();
  }
}

interface Point {
  attributes: Attributes;
  value: number;
  count?: number;
}

/** The data points of instrument `name` on the xems meter. */
function points(rm: ResourceMetrics, name: string): Point[] {
  const scope = rm.scopeMetrics.find((s) => s.scope.name === XEMS_METER_NAME);
  const metric = scope?.metrics.find((m) => m.descriptor.name === name);
  if (!metric) return [];
  return metric.dataPoints.map((p) => {
    if (metric.dataPointType === DataPointType.HISTOGRAM) {
      const h = p.value as { count: number; sum?: number };
      return { attributes: p.attributes, value: h.sum ?? 0, count: h.count };
    }
    return { attributes: p.attributes, value: p.value as number };
  });
}

/** The sum of `name` over the points whose attributes include `match`. */
function total(rm: ResourceMetrics, name: string, match: Attributes = {}): number {
  return points(rm, name)
    .filter((p) => Object.entries(match).every(([k, v]) => p.attributes[k] === v))
    .reduce((sum, p) => sum + (p.count ?? p.value), 0);
}

function send(t: FeaturesApp, token: string) {
  return request(t.server).get('/me').set('Cookie', `xems_token=${token}`).set('User-Agent', USER_AGENT).set('X-Forwarded-For', CLIENT_IP);
}

function login(t: FeaturesApp, body: Record<string, unknown>) {
  return request(t.server)
    .post('/auth/login')
    .set('User-Agent', USER_AGENT)
    .set('X-Forwarded-For', CLIENT_IP)
    .send({ data: { user: body.user, secret: DATA_MARKER }, ...body });
}

describe('OpenTelemetry: metrics and spans from a scripted session sequence', { timeout: 60_000 }, () => {
  const tel = new Telemetry();
  let t: FeaturesApp;
  /** Every token and CSRF token handed out during the script. */
  const secrets = new Set<string>();
  const ROTATIONS = 4;
  let firstId = '';
  let keptId = '';

  before(async () => {
    t = await createFeaturesApp({
      gracePeriod: 100,
      binding: { ip: 'exact', userAgent: true, onMismatch: 'reject' },
      telemetry: { enabled: true, meterProvider: tel.meterProvider, tracerProvider: tel.tracerProvider },
    });
    const keep = (res: request.Response) => {
      const token = cookieToken(res);
      if (token) secrets.add(token);
      if (typeof res.body?.csrf === 'string') secrets.add(res.body.csrf);
      return token;
    };

    // 1. login; 2. ROTATIONS requests, each presenting the newest token (each rotates).
    const first = await login(t, { user: 'otel-a' });
    assert.equal(first.status, 200);
    firstId = first.body.context.id;
    const t0 = keep(first)!;
    let current = t0;
    for (let i = 0; i < ROTATIONS; i++) {
      const res = await send(t, current);
      assert.equal(res.status, 200);
      current = keep(res)!;
    }
    // 3. reuse: t0 comes back after its successor was used and the grace period is over.
    await sleep(200);
    assert.equal((await send(t, t0)).status, 401);
    // 4. a second login, then its logout (the logout request's guard rotates once more).
    const second = await login(t, { user: 'otel-b' });
    const logout = await request(t.server)
      .post('/me/logout')
      .set('Cookie', `xems_token=${keep(second)}`)
      .set('User-Agent', USER_AGENT)
      .set('X-Forwarded-For', CLIENT_IP);
    assert.equal(logout.status, 200);
    // 5. a binding mismatch (another user agent; rejected, session kept).
    const third = await login(t, { user: 'otel-c' });
    keptId = third.body.context.id;
    const mismatch = await request(t.server)
      .get('/me')
      .set('Cookie', `xems_token=${keep(third)}`)
      .set('X-Forwarded-For', CLIENT_IP);
    assert.equal(mismatch.status, 401);
    // 6. a session that expires (the sidecar's expirer reports it).
    const short = await login(t, { user: 'otel-d', ttl: '200ms' });
    keep(short);
    const shortId = short.body.context.id as string;
    await eventually(() => t.events.some((e) => e.type === 'session.expired' && e.sessionId === shortId), 10_000, 'session.expired');
  });

  after(async () => {
    await t?.close();
    await tel.shutdown();
  });

  it('counts exactly what the script did, in step with the sidecar stats', async () => {
    const stats = await t.xems.stats();
    const rm = await tel.collect();
    const s = { 'xems.sandbox': SANDBOX };
    assert.equal(total(rm, XEMS_METRICS.created, s), 4, 'four logins');
    assert.equal(total(rm, XEMS_METRICS.rotations, s), ROTATIONS + 1, 'the rotations, and the logout request');
    assert.equal(total(rm, XEMS_METRICS.reuseDetected, s), 1);
    assert.equal(total(rm, XEMS_METRICS.revocations, { ...s, 'xems.revoke.reason': 'revoked' }), 1, 'the logout');
    assert.equal(total(rm, XEMS_METRICS.revocations), 1, 'no other reason');
    assert.equal(total(rm, XEMS_METRICS.bindingMismatches, { ...s, 'xems.binding.action': 'reject' }), 1);
    assert.equal(total(rm, XEMS_METRICS.expirations, s), 1);
    assert.equal(total(rm, XEMS_METRICS.deviceRefreshes), 0);
    assert.equal(total(rm, XEMS_METRICS.sidecarRestarts), 0);
    // The sidecar counts the same things on its side.
    assert.equal(stats.rotations, ROTATIONS + 1);
    assert.equal(stats.reuseDetected, 1);
    assert.equal(stats.bindingMismatches, 1);
    assert.equal(stats.expired, 1);
    // Every session event by its type (how new event types are counted without a change).
    const byType = (type: string) => total(rm, XEMS_METRICS.events, { ...s, 'xems.event.type': type });
    assert.deepEqual(
      ['session.created', 'session.rotated', 'session.reused', 'session.revoked', 'binding.mismatch', 'session.expired'].map(byType),
      [4, ROTATIONS + 1, 1, 1, 1, 1],
    );
    // Gauges: the one session still alive (otel-c), and a running sidecar.
    assert.deepEqual(points(rm, XEMS_METRICS.live), [{ attributes: s, value: 1 }]);
    assert.deepEqual(points(rm, XEMS_METRICS.sidecarUp), [{ attributes: {}, value: 1 }]);
    // The call histogram has one measurement per call, as many as the sidecar served.
    for (const op of ['S_CREATE', 'S_RESOLVE', 'S_REVOKE']) {
      const n = total(rm, XEMS_METRICS.callDuration, { 'rpc.system.name': 'xems', 'rpc.method': `xems.Sidecar/${op}` });
      assert.equal(n, stats.ops[op], op);
    }
    const histogram = points(rm, XEMS_METRICS.callDuration);
    assert.ok(
      histogram.every((p) => p.value >= 0 && p.value < 5),
      'durations in seconds',
    );
  });

  it('makes one CLIENT span per sidecar call, with the public session id', () => {
    const spans = t ? tel.spanExporter.getFinishedSpans() : [];
    const creates = spans.filter((sp) => sp.name === 'xems.Sidecar/S_CREATE');
    assert.equal(creates.length, 4);
    assert.equal(creates[0].attributes['session.id'], firstId);
    assert.equal(creates[0].kind, 2 /* SpanKind.CLIENT */);
    const resolves = spans.filter((sp) => sp.name === 'xems.Sidecar/S_RESOLVE');
    assert.ok(resolves.length >= ROTATIONS + 3, `resolves: ${resolves.length}`);
    assert.equal(resolves.filter((sp) => sp.attributes['session.id'] === firstId).length, ROTATIONS + 1, 'the rotations and the reuse');
    assert.ok(
      resolves.some((sp) => sp.attributes['session.id'] === keptId),
      'the mismatch names its session',
    );
    for (const sp of spans) {
      assert.equal(sp.attributes['rpc.system.name'], 'xems');
      assert.equal(sp.attributes['rpc.method'], sp.name);
    }
  });

  it("makes each span a child of the caller's active span (e.g. the HTTP request's)", async () => {
    const manager = new AlsContextManager();
    assert.ok(context.setGlobalContextManager(manager), 'context manager registered');
    try {
      const parent = tel.tracerProvider.getTracer('app').startSpan('GET /orders');
      const token = await context.with(trace.setSpan(context.active(), parent), () => t.xems.createSession(SANDBOX, { n: 1 }));
      parent.end();
      secrets.add(token);
      const child = tel.spanExporter.getFinishedSpans().find((sp) => sp.parentSpanContext?.spanId === parent.spanContext().spanId);
      assert.ok(child, 'a sidecar span under the parent');
      assert.equal(child.name, 'xems.Sidecar/S_CREATE');
      assert.equal(child.spanContext().traceId, parent.spanContext().traceId);
    } finally {
      context.disable();
    }
  });

  it('exports no token, data, address or user agent anywhere', async () => {
    const rm = await tel.collect();
    const exported: unknown[] = [rm];
    for (const sp of tel.spanExporter.getFinishedSpans()) {
      exported.push({
        name: sp.name,
        attributes: sp.attributes,
        events: sp.events,
        links: sp.links,
        status: sp.status,
        resource: sp.resource.attributes,
      });
    }
    const text = JSON.stringify(exported);
    assert.ok(secrets.size >= 8, `tokens collected: ${secrets.size}`);
    for (const secret of secrets) assert.ok(!text.includes(secret), 'a token or CSRF token was exported');
    for (const needle of [DATA_MARKER, USER_AGENT, 'otel-probe-agent', CLIENT_IP, '127.0.0.1', 'otel-a', 'example.test']) {
      assert.ok(!text.includes(needle), `exported: ${needle}`);
    }
    const allowed = new Set(['rpc.system.name', 'rpc.method', 'session.id', 'session.previous_id', 'error.type']);
    for (const sp of tel.spanExporter.getFinishedSpans()) {
      for (const key of Object.keys(sp.attributes)) assert.ok(allowed.has(key), `span attribute ${key}`);
    }
  });
});

describe('OpenTelemetry: the sidecar going down', { timeout: 60_000 }, () => {
  it('counts a restart, reports the sidecar down as 0, and types failed calls on spans and the histogram', async () => {
    const tel = new Telemetry();
    const t = await createFeaturesApp({
      sidecar: { maxRestarts: 1 },
      telemetry: { meterProvider: tel.meterProvider, tracerProvider: tel.tracerProvider },
    });
    try {
      assert.equal((await login(t, { user: 'otel-r' })).status, 200);
      let rm = await tel.collect();
      assert.deepEqual(points(rm, XEMS_METRICS.live), [{ attributes: { 'xems.sandbox': SANDBOX }, value: 1 }]);
      // A crash within the restart budget: restarted once (the memory store starts empty).
      process.kill(t.xems.sidecar.pid!, 'SIGKILL');
      await eventually(() => t.events.some((e) => e.type === 'sidecar.restarted'), 10_000, 'sidecar.restarted');
      rm = await tel.collect();
      assert.equal(total(rm, XEMS_METRICS.sidecarRestarts), 1);
      assert.deepEqual(points(rm, XEMS_METRICS.sidecarUp), [{ attributes: {}, value: 1 }]);
      assert.deepEqual(
        points(rm, XEMS_METRICS.live),
        [{ attributes: { 'xems.sandbox': SANDBOX }, value: 0 }],
        'the session was lost: 0, not dropped',
      );
      // The budget is spent: the next crash leaves it down.
      process.kill(t.xems.sidecar.pid!, 'SIGKILL');
      await eventually(() => t.xems.sidecar.state === 'failed', 10_000, 'the sidecar to stay down');
      await assert.rejects(t.xems.createSession(SANDBOX, { n: 1 }), (err: Error & { code?: string }) => err.code === 'UNAVAILABLE');
      rm = await tel.collect();
      assert.deepEqual(points(rm, XEMS_METRICS.sidecarUp), [{ attributes: {}, value: 0 }]);
      const failed = { 'rpc.method': 'xems.Sidecar/S_CREATE', 'error.type': 'UNAVAILABLE' };
      assert.equal(total(rm, XEMS_METRICS.callDuration, failed), 1);
      const span = tel.spanExporter.getFinishedSpans().find((sp) => sp.attributes['error.type'] === 'UNAVAILABLE');
      assert.ok(span, 'a span for the failed call');
      assert.equal(span.name, 'xems.Sidecar/S_CREATE');
      assert.equal(span.status.code, 2 /* SpanStatusCode.ERROR */);
      assert.equal(span.status.message, undefined, 'no error message on the span');
      assert.equal(span.attributes['session.id'], undefined);
    } finally {
      await t.close();
      await tel.shutdown();
    }
  });
});
