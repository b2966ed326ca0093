import type { Span } from '@opentelemetry/api';
import type { RequestWriter } from '../sidecar/frame-codec';
import { Op, type ReplyDecoder } from '../sidecar/protocol';
import {
  type CreatedSession,
  type RegeneratedSession,
  type ResolveExt,
  type ResolveResult,
  SidecarApi,
  type SidecarTransport,
} from '../sidecar/sidecar-api';
import type { SidecarCallTelemetry } from './sidecar-call-telemetry';

/**
 * SidecarApi with a span and a duration measurement around every call; used instead of it only
 * when telemetry is on (off, the module uses SidecarApi itself and pays nothing). Every
 * operation, including ones added later, is observed in `send`; the session operations below
 * observe their own call instead, so that the span carries the public session id their reply
 * (or their argument) names.
 */
export class InstrumentedSidecarApi extends SidecarApi {
  /** Set around a session operation's synchronous start: its `send` is observed by the operation. */
  private observedByCaller = false;

  constructor(
    transport: SidecarTransport,
    private readonly telemetry: SidecarCallTelemetry,
  ) {
    super(transport);
  }

  protected override send<T>(op: number, w: RequestWriter, decode: ReplyDecoder<T>): Promise<T> {
    if (this.observedByCaller) {
      this.observedByCaller = false;
      return super.send(op, w, decode);
    }
    if (this.telemetry.idle) return super.send(op, w, decode);
    const span = this.telemetry.start(op);
    return this.observe(op, span, performance.now(), super.send(op, w, decode));
  }

  private async observe<T>(op: number, span: Span | undefined, startedAt: number, reply: Promise<T>): Promise<T> {
    try {
      const r = await reply;
      this.telemetry.end(op, span, startedAt);
      return r;
    } catch (err) {
      this.telemetry.end(op, span, startedAt, err);
      throw err;
    }
  }

  /**
   * Runs a session operation whose call this method observes: `start` must send its request
   * synchronously (every SidecarApi method encodes and sends before its first await); the flag
   * is cleared right after either way, so a later call is never skipped by mistake.
   */
  private session<T>(op: number, start: () => Promise<T>, ids: (result: T) => [string | undefined, string?]): Promise<T> {
    if (this.telemetry.idle) return start();
    const span = this.telemetry.start(op);
    const startedAt = performance.now();
    this.observedByCaller = true;
    let pending: Promise<T>;
    try {
      pending = start();
    } finally {
      this.observedByCaller = false;
    }
    // One then() (not an async function and its await): this wraps every guarded request's resolve.
    return pending.then(
      (result) => {
        const [sessionId, previousId] = ids(result);
        this.telemetry.end(op, span, startedAt, undefined, sessionId, previousId);
        return result;
      },
      (err: unknown) => {
        this.telemetry.end(op, span, startedAt, err);
        throw err;
      },
    );
  }

  override sCreate(...args: Parameters<SidecarApi['sCreate']>): Promise<CreatedSession> {
    if (this.telemetry.idle) return super.sCreate(...args);
    return this.session(
      Op.S_CREATE,
      () => super.sCreate(...args),
      (r) => [r.sessionId],
    );
  }

  // Its parameters spelled out (no rest array and spread): it runs on every guarded request.
  override sResolve(
    sandbox: string,
    token: string,
    rotate: boolean,
    graceMs: number,
    minRotateIntervalMs: number,
    ext?: ResolveExt,
  ): Promise<ResolveResult> {
    if (this.telemetry.idle) return super.sResolve(sandbox, token, rotate, graceMs, minRotateIntervalMs, ext);
    return this.session(
      Op.S_RESOLVE,
      () => super.sResolve(sandbox, token, rotate, graceMs, minRotateIntervalMs, ext),
      (r) => [r.status === 'not_found' ? undefined : r.sessionId],
    );
  }

  override sRevoke(...args: Parameters<SidecarApi['sRevoke']>): Promise<string | null> {
    if (this.telemetry.idle) return super.sRevoke(...args);
    return this.session(
      Op.S_REVOKE,
      () => super.sRevoke(...args),
      (id) => [id ?? undefined],
    );
  }

  override sRevokeId(...args: Parameters<SidecarApi['sRevokeId']>): Promise<boolean> {
    if (this.telemetry.idle) return super.sRevokeId(...args);
    return this.session(
      Op.S_REVOKE_ID,
      () => super.sRevokeId(...args),
      () => [args[1]],
    );
  }

  override sRegenerate(...args: Parameters<SidecarApi['sRegenerate']>): Promise<RegeneratedSession | null> {
    if (this.telemetry.idle) return super.sRegenerate(...args);
    return this.session(
      Op.S_REGENERATE,
      () => super.sRegenerate(...args),
      (r) => (r ? [r.sessionId, r.oldSessionId] : [undefined]),
    );
  }
}
