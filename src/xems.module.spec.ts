import 'reflect-metadata';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Controller, Get, Injectable, Module, UseGuards } from '@nestjs/common';
import { CsrfGuard } from './csrf.guard';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { SessionGuard } from './session.guard';
import { SidecarOutageInterceptor } from './sidecar-outage.interceptor';
import { XEMS_MODULE_OPTIONS } from './xems.constants';
import { XemsConfigError } from './xems.errors';
import { XEMS_RESOLVED_OPTIONS } from './xems.internal-constants';
import type { XemsOptionsFactory } from './xems.module-definition';
import { XemsModule } from './xems.module';
import type { XemsModuleOptions } from './xems.options';
import { type ResolvedXemsOptions, resolveXemsOptions } from './xems.resolved-options';
import { XemsService } from './xems.service';

const CONFIG = Symbol('CONFIG');

@Module({ providers: [{ provide: CONFIG, useValue: { sessionTtl: '2h' } }], exports: [CONFIG] })
class ConfigModule {}

@Injectable()
class XemsConfigService implements XemsOptionsFactory {
  createXemsOptions(): XemsModuleOptions {
    return { sandbox: 'from-class', gracePeriod: '3s' };
  }
}

@Module({ providers: [XemsConfigService], exports: [XemsConfigService] })
class XemsConfigModule {}

@Injectable()
class NeedsXems {
  constructor(readonly xems: XemsService) {}
}

@Module({ providers: [NeedsXems] })
class FeatureModule {}

async function resolved(imports: unknown[]): Promise<ResolvedXemsOptions> {
  const ref = await Test.createTestingModule({ imports: imports as never[] }).compile();
  try {
    return ref.get<ResolvedXemsOptions>(XEMS_RESOLVED_OPTIONS);
  } finally {
    await ref.close();
  }
}

describe('XemsModule', () => {
  it('forRoot validates the options and provides the service, the guard and the global interceptor', async () => {
    const ref = await Test.createTestingModule({ imports: [XemsModule.forRoot({ ttl: '10m', cookie: { name: 'sid' } })] }).compile();
    const options = ref.get<ResolvedXemsOptions>(XEMS_RESOLVED_OPTIONS);
    assert.equal(options.ttl, 600_000);
    assert.equal((options.cookie as { name: string }).name, 'sid');
    assert.deepEqual(ref.get(XEMS_MODULE_OPTIONS), { ttl: '10m', cookie: { name: 'sid' } });
    assert.ok(ref.get(XemsService) instanceof XemsService);
    assert.ok(ref.get(SessionGuard) instanceof SessionGuard);
    assert.ok(ref.get(SidecarOutageInterceptor) instanceof SidecarOutageInterceptor);
    // SessionGuard alone is enough on a route: the interceptor is registered app-wide.
    const providers = Reflect.getMetadata('providers', XemsModule) as Array<{ provide?: unknown; useExisting?: unknown }>;
    assert.ok(providers.some((p) => p.provide === APP_INTERCEPTOR && p.useExisting === SidecarOutageInterceptor));
    await ref.close();
  });

  it('forRoot() and forRootAsync() without options, or with a factory returning undefined, use every default', async () => {
    const defaults = resolveXemsOptions();
    for (const xems of [
      XemsModule.forRoot(),
      XemsModule.forRootAsync(),
      XemsModule.forRootAsync({ useFactory: () => undefined as unknown as XemsModuleOptions }),
    ]) {
      assert.notEqual(xems.global, true);
      const options = await resolved([xems]);
      assert.deepEqual(options, defaults);
      assert.equal(options.ttl, 3_600_000);
    }
    assert.equal(XemsModule.forRootAsync({ isGlobal: true }).global, true, 'extras without a factory still apply');
  });

  it('forRoot refuses invalid options at start-up with XemsConfigError naming the field', async () => {
    await assert.rejects(
      Test.createTestingModule({ imports: [XemsModule.forRoot({ cookie: { name: 'bad;name' } })] }).compile(),
      (err: unknown) => err instanceof XemsConfigError && err.field === 'cookie.name',
    );
  });

  it('forRootAsync with useFactory, imports and inject', async () => {
    const options = await resolved([
      XemsModule.forRootAsync({
        imports: [ConfigModule],
        inject: [CONFIG],
        useFactory: async (config: { sessionTtl: string }) => ({ ttl: config.sessionTtl as '2h', autoRotation: '1m' }),
      }),
    ]);
    assert.equal(options.ttl, 7_200_000);
    assert.equal(options.autoRotation, 60_000);
  });

  it('forRootAsync with useClass', async () => {
    const options = await resolved([XemsModule.forRootAsync({ useClass: XemsConfigService })]);
    assert.equal(options.sandbox, 'from-class');
    assert.equal(options.gracePeriod, 3000);
  });

  it('forRootAsync with useExisting', async () => {
    const options = await resolved([XemsModule.forRootAsync({ imports: [XemsConfigModule], useExisting: XemsConfigService })]);
    assert.equal(options.sandbox, 'from-class');
  });

  it('forRootAsync validates what the factory returns', async () => {
    await assert.rejects(
      Test.createTestingModule({ imports: [XemsModule.forRootAsync({ useFactory: () => ({ gracePeriod: '2m' as const }) })] }).compile(),
      (err: unknown) => err instanceof XemsConfigError && err.field === 'gracePeriod',
    );
  });

  it('isGlobal returned by a factory is refused saying where it belongs, and a non-object names forRootAsync (audit B)', async () => {
    await assert.rejects(
      Test.createTestingModule({
        imports: [XemsModule.forRootAsync({ useFactory: () => ({ isGlobal: true }) as XemsModuleOptions })],
      }).compile(),
      (err: unknown) =>
        err instanceof XemsConfigError &&
        err.field === 'isGlobal' &&
        /belongs to XemsModule\.forRoot\(\) \/ forRootAsync\(\) themselves/.test(err.message) &&
        /forRootAsync\(\{ isGlobal: true, useFactory/.test(err.hint),
    );
    await assert.rejects(
      Test.createTestingModule({
        imports: [XemsModule.forRootAsync({ useFactory: () => '1h' as unknown as XemsModuleOptions })],
      }).compile(),
      (err: unknown) => err instanceof XemsConfigError && err.field === '(options)' && /useFactory/.test(err.hint),
    );
  });

  it('isGlobal makes XemsService injectable in modules that do not import XemsModule (forRoot and forRootAsync)', async () => {
    for (const xems of [XemsModule.forRoot({ isGlobal: true }), XemsModule.forRootAsync({ isGlobal: true, useFactory: () => ({}) })]) {
      assert.equal(xems.global, true);
      const ref = await Test.createTestingModule({ imports: [xems, FeatureModule] }).compile();
      assert.ok(ref.get(NeedsXems).xems instanceof XemsService);
      // isGlobal is an extra: it never reaches the module options (which are validated strictly).
      assert.equal('isGlobal' in (ref.get(XEMS_MODULE_OPTIONS) as object), false);
      await ref.close();
    }
  });

  it('a controller of a module that imports XemsModule (not global) gets SessionGuard and CsrfGuard with what they inject', async () => {
    @Controller('guarded')
    @UseGuards(SessionGuard, CsrfGuard)
    class GuardedController {
      @Get()
      get() {
        return 'ok';
      }
    }
    @Module({ imports: [XemsModule.forRoot()], controllers: [GuardedController] })
    class ImportingModule {}
    const ref = await Test.createTestingModule({ imports: [ImportingModule] }).compile();
    try {
      assert.ok(ref.get(SessionGuard, { strict: false }) instanceof SessionGuard);
    } finally {
      await ref.close();
    }
  });

  it('without isGlobal, other modules cannot inject XemsService', async () => {
    for (const xems of [XemsModule.forRoot({}), XemsModule.forRootAsync({ useFactory: () => ({}) })]) {
      assert.notEqual(xems.global, true);
      await assert.rejects(Test.createTestingModule({ imports: [xems, FeatureModule] }).compile(), /NeedsXems|XemsService/);
    }
  });

  it('starts the sidecar on init and stops it on close (real binary)', async () => {
    const ref = await Test.createTestingModule({ imports: [XemsModule.forRoot({})] }).compile();
    const xems = ref.get(XemsService);
    assert.equal(xems.sidecar.state, 'idle');
    await ref.init();
    assert.equal(xems.sidecar.state, 'running');
    const pid = xems.sidecar.pid!;
    await xems.from('module-spec').set('k', { ok: true });
    assert.deepEqual(await xems.from('module-spec').get('k'), { ok: true });
    await ref.close();
    assert.equal(xems.sidecar.state, 'stopped');
    assert.throws(() => process.kill(pid, 0), /ESRCH/);
  });
});
