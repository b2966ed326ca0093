import 'reflect-metadata';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Test } from '@nestjs/testing';
import { XemsModule, XemsService, XemsSidecarError, XemsTimeoutError } from '../src';
import { CreatedSession, SidecarApi } from '../src/sidecar/sidecar-api';
import { SidecarLogger } from '../src/sidecar/sidecar-options';
import { SidecarProcess } from '../src/sidecar/sidecar-process';
import { busyWait, waitStopped } from './support/stalls';
import { sleep } from './support/xems-test-app';

// The sidecar client against the real sidecar: replies that have arrived win over timeouts,
// deadlines travel with the requests, and a call before init says what to do.

const REQUEST_TIMEOUT_MS = 200;
const quiet: SidecarLogger = { log: () => undefined, warn: () => undefined, error: () => undefined };

describe('the sidecar client against the real sidecar', () => {
  let proc: SidecarProcess;
  let api: SidecarApi;
  before(async () => {
    proc = new SidecarProcess(
      { startTimeoutMs: 10_000, requestTimeoutMs: REQUEST_TIMEOUT_MS, shutdownTimeoutMs: 2000, maxInFlight: 1000, maxRestarts: 0 },
      quiet,
      quiet,
    );
    await proc.start();
    api = new SidecarApi(proc);
  });
  after(() => proc.shutdown());

  it('after the event loop was blocked longer than requestTimeout, calls resolve with the replies waiting in the pipe', async () => {
    const data = Buffer.from('{"user":"u"}');
    const sessions: CreatedSession[] = await Promise.all(Array.from({ length: 20 }, () => api.sCreate('blocked', data, 600_000, 0, '')));
    const rotations = sessions.map((s) => api.sResolve('blocked', s.token, true, 2000, 0));
    // The frames go out in the check phase (the client's flush, queued first); then the loop is
    // blocked for ten timeouts while the sidecar answers (2 s: time enough for it to answer on
    // a loaded machine, where it may get little CPU). The timeout sweep (timers phase) runs
    // before the poll phase that reads those answers.
    await new Promise<void>((resolve) => setImmediate(() => (busyWait(10 * REQUEST_TIMEOUT_MS), resolve())));
    const results = await Promise.allSettled(rotations);
    const failed = results.filter((r) => r.status === 'rejected');
    assert.deepEqual(failed, [], 'no call timed out');
    for (const [i, r] of results.entries()) {
      assert.ok(r.status === 'fulfilled' && r.value.status === 'ok' && r.value.rotated, `call ${i} rotated`);
      // The rotated token the caller got is the session's current one.
      const again = await api.sResolve('blocked', r.value.token, false, 0, 0);
      assert.ok(again.status === 'ok' && again.token === r.value.token && sessions[i].token !== r.value.token);
    }
    assert.equal(proc.state, 'running');
  });

  it(
    'a rotation the client gave up on while the sidecar was stalled is not applied when it resumes',
    { skip: process.platform !== 'linux' && 'reads /proc' },
    async () => {
      const created = await api.sCreate('stalled', Buffer.from('{}'), 600_000, 0, '');
      const pid = proc.pid!;
      process.kill(pid, 'SIGSTOP');
      try {
        await waitStopped(pid);
        const started = Date.now();
        await assert.rejects(api.sResolve('stalled', created.token, true, 2000, 0), XemsTimeoutError);
        assert.ok(Date.now() - started >= REQUEST_TIMEOUT_MS - 1);
        await sleep(50);
      } finally {
        process.kill(pid, 'SIGCONT');
      }
      // The sidecar now reads the late S_RESOLVE and drops it (DEADLINE_EXCEEDED): the token
      // the client still holds is the session's current one, not a superseded one.
      const after = await api.sResolve('stalled', created.token, false, 0, 0);
      assert.ok(after.status === 'ok', `status ${after.status}`);
      assert.equal(after.token, created.token, 'the rotation was applied after its deadline');
      assert.equal(after.rotated, false);
      assert.equal(proc.state, 'running');
    },
  );
});

describe('a call before the module is initialised', () => {
  it('says to call init(), with its own code, not the crashed-sidecar hint', async () => {
    const ref = await Test.createTestingModule({ imports: [XemsModule.forRoot({})] })
      .setLogger(false as never)
      .compile();
    const xems = ref.get(XemsService);
    await assert.rejects(xems.createSession('app', { a: 1 }), (err: unknown) => {
      assert.ok(err instanceof XemsSidecarError, String(err));
      assert.equal(err.code, 'NOT_INITIALISED');
      assert.match(err.message, /the module has not been initialised: call app\.init\(\) \/ moduleRef\.init\(\)/);
      assert.doesNotMatch(`${err.message} ${err.hint}`, /crash|restart/i);
      return true;
    });
    await ref.close();
  });
});
