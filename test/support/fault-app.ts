import { after, before } from 'node:test';
import type { XemsEvent, XemsModuleOptions } from '../../src';
import type { TestPlatform } from './platforms';
import { type TestApp, createTestApp } from './xems-test-app';

/** What the fault suites (stalls, slow links, blocked loops) need from their store: its options and how to stop it. */
export interface FaultStore {
  options: XemsModuleOptions;
  stop(): Promise<void>;
}

/** The app a fault suite runs against, filled in by the suite's before hook. */
export interface FaultApp {
  t: TestApp;
  /** Every event the module emitted since the app started. */
  events: XemsEvent[];
}

/**
 * Registers, in the calling describe, a before hook that opens the store and a test app on
 * `platform` with a short grace period and requestTimeout (the fault suites outwait both), and
 * an after hook that closes them again.
 */
export function useFaultApp(
  open: () => Promise<FaultStore>,
  platform: TestPlatform,
  timing: { graceMs: number; requestTimeoutMs: number },
): FaultApp {
  const app = { events: [] } as unknown as FaultApp;
  let store: FaultStore | undefined;
  before(async () => {
    store = await open();
    app.t = await createTestApp(
      {
        ...store.options,
        cookie: { secure: false },
        gracePeriod: timing.graceMs,
        sidecar: { requestTimeout: timing.requestTimeoutMs },
      },
      platform,
    );
    app.t.xems.events$.subscribe((e) => app.events.push(e));
  });
  after(async () => {
    await app.t?.close();
    await store?.stop();
  });
  return app;
}
