import type { Readable, Writable } from 'node:stream';
import {
  XemsError,
  XemsOverloadedError,
  XemsProtocolError,
  XemsTimeoutError,
  XemsUnavailableError,
  MISMATCHED_SIDECAR_HINT,
} from '../xems.errors';
import { BodyReader, FrameDecoder, stampRequestHeader } from './frame-codec';
import { ReplyDecoder, SidecarReply, asReply, opName, sidecarError } from './protocol';
import { FrameKind, PROTOCOL_VERSION, ReplyHeader, Status, decodeEndedFrame, decodeExpiredFrame, decodeHelloFrame } from './stdio-protocol.gen';

export interface SidecarHello {
  protocolVersion: number;
  buildVersion: string;
}

export interface SidecarClientOptions {
  requestTimeoutMs: number;
  maxInFlight: number;
  /** Largest reply frame accepted; anything bigger means the stream is corrupt. */
  maxReplyFrameSize?: number;
  /**
   * Called when the first call starts waiting (true) and, at the end of the event-loop turn in
   * which the last one settled, if no call was made since (false).
   */
  onBusyChange?(busy: boolean): void;
  /** Called with the ids of sessions the sidecar removed because they expired (EXPIRED frames). */
  onExpired?(sandbox: string, sessionIds: string[]): void;
  /** Called with the ids of sessions another instance ended (ENDED frames, Redis store); `reason` is an EndReason value. */
  onEnded?(sandbox: string, reason: number, sessionIds: string[]): void;
  /** Called with the round-trip time of every answered call, in milliseconds. */
  onLatency?(ms: number): void;
  /**
   * Called when a call times out without any reply from the sidecar (`stalled` true, with the
   * timeout) and when the next frame arrives (false, with how long it was stalled): an operator
   * sees why requests answer 503 (a stopped or starved sidecar) and when they stop.
   */
  onStall?(stalled: boolean, ms: number): void;
}

interface PendingCall {
  op: number;
  /** Turns the reply into the call's result when it is read (ERROR replies never reach it). */
  decode: ReplyDecoder<unknown>;
  resolve(result: unknown): void;
  reject(error: Error): void;
  startedAt: number;
  /** performance.now() after which the call fails with XemsTimeoutError. */
  deadline: number;
  timeoutMs: number;
}

const MAX_ID = 0xffff_ffff;
const DEFAULT_MAX_REPLY_FRAME = 64 * 1024 * 1024;

/**
 * How often pending calls are checked against their deadlines. One coarse timer instead of a
 * setTimeout per call (whose insert and removal cost more than a fast call itself): a call
 * times out between its timeout and its timeout plus this.
 */
export const TIMEOUT_SWEEP_MS = 100;

type LateCalls = Array<[id: number, call: PendingCall]>;

/**
 * Speaks docs/protocol.md over one pair of pipes: request ids, a map of pending calls
 * (replies may come in any order), a timeout per call (checked by one coarse sweep timer, and
 * sent in the request's header as its deadline, so that the sidecar drops, unapplied, what the
 * client has given up on), a bound on calls in flight, and ONE close path that fails every
 * pending call at once. A reply that has arrived always wins over the timeout (sweepDeadlines).
 * The
 * frames of one event-loop turn go out in one write (flushed by setImmediate, so an HTTP
 * server's requests that arrived together, each handled in its own callback, share it): each
 * write wakes the sidecar's reader, which costs more than the bytes, and the sidecar answers a
 * batch with one write too. It knows nothing about processes: the supervisor
 * (sidecar-process.ts) owns the child and decides about restarts.
 */
export class SidecarClient {
  /** Resolves with the sidecar's HELLO; rejects if the stream closes first or the version differs. */
  readonly hello: Promise<SidecarHello>;
  /** Resolves (never rejects) with the reason once the client is closed. */
  readonly closed: Promise<Error>;

  private readonly pending = new Map<number, PendingCall>();
  private readonly decoder: FrameDecoder;
  private nextId = 1;
  private closeReason: Error | undefined;
  private settleHello!: { resolve(h: SidecarHello): void; reject(e: Error): void; done: boolean };
  private resolveClosed!: (reason: Error) => void;
  /** Frames waiting for the end of this event-loop turn (endTurn). */
  private outQueue: Buffer[] = [];
  private outBytes = 0;
  private sweepTimer: NodeJS.Timeout | undefined;
  /** onBusyChange(true) was reported and (false) not yet. */
  private busy = false;
  /** endTurn is scheduled (setImmediate) for this turn. */
  private turnEndScheduled = false;
  private readonly endTurn = (): void => this.onTurnEnd();
  private readonly sweep = (): void => this.sweepDeadlines();
  private readonly expireLate = (late: LateCalls): void => this.expire(late);
  private readonly onPayload = (buf: Buffer, start: number, end: number): void => this.onFrame(buf, start, end);
  /** performance.now() when the chunk being decoded was read: the arrival time of each of its replies. */
  private readAt = 0;
  /** performance.now() when a call last timed out with no frame read since; 0: not stalled. */
  private stalledSince = 0;

  constructor(
    private readonly input: Writable,
    private readonly output: Readable,
    private readonly options: SidecarClientOptions,
  ) {
    this.decoder = new FrameDecoder(options.maxReplyFrameSize ?? DEFAULT_MAX_REPLY_FRAME);
    this.hello = new Promise<SidecarHello>((resolve, reject) => {
      this.settleHello = { resolve, reject, done: false };
    });
    // The hello promise may be rejected before anyone awaits it (the child died at once).
    this.hello.catch(() => undefined);
    this.closed = new Promise<Error>((resolve) => (this.resolveClosed = resolve));

    output.on('data', (chunk: Buffer) => this.onData(chunk));
    output.on('end', () => this.close(new XemsUnavailableError('its stdout closed')));
    output.on('close', () => this.close(new XemsUnavailableError('its stdout closed')));
    output.on('error', (err) => this.close(new XemsUnavailableError('its stdout failed', { cause: err })));
    input.on('error', (err) => this.close(new XemsUnavailableError('its stdin failed', { cause: err })));
    input.on('close', () => this.close(new XemsUnavailableError('its stdin closed')));
  }

  get isClosed(): boolean {
    return this.closeReason !== undefined;
  }

  get inFlight(): number {
    return this.pending.size;
  }

  /**
   * Sends one request frame (built by RequestWriter) and resolves with its reply. ERROR replies
   * reject with the matching XemsError; OK, NOT_FOUND, REUSED and MISMATCH resolve. The frame
   * carries the call's deadline (now + timeoutMs, wall clock): the sidecar refuses the request,
   * unapplied, if it would start it later than that (DEADLINE_EXCEEDED, a XemsTimeoutError).
   */
  request(op: number, frame: Buffer, timeoutMs = this.options.requestTimeoutMs): Promise<SidecarReply> {
    return this.send(op, frame, asReply, timeoutMs);
  }

  /**
   * request() whose promise resolves with `decode(status, body)`, run as soon as the reply is
   * read (its body is a view into the chunk read, valid only during the call): one promise per
   * call instead of the reply's and a then() of the caller's. A decoder that throws rejects its
   * call only.
   */
  send<T>(op: number, frame: Buffer, decode: ReplyDecoder<T>, timeoutMs = this.options.requestTimeoutMs): Promise<T> {
    if (this.closeReason) return Promise.reject(this.unavailable());
    if (this.pending.size >= this.options.maxInFlight) {
      return Promise.reject(new XemsOverloadedError(this.options.maxInFlight));
    }
    const id = this.allocateId();
    stampRequestHeader(frame, id, Date.now() + timeoutMs);
    return new Promise<T>((resolve, reject) => {
      const startedAt = performance.now();
      this.pending.set(id, { op, decode, resolve: resolve as (result: unknown) => void, reject, startedAt, deadline: startedAt + timeoutMs, timeoutMs });
      if (!this.busy) this.onBusy();
      this.enqueue(frame);
    });
  }

  /**
   * Queues a frame; the frames of this event-loop turn go out together in one write, in its
   * check phase (after every socket callback of the turn has run, before it waits for I/O).
   */
  private enqueue(frame: Buffer): void {
    this.scheduleTurnEnd();
    this.outQueue.push(frame);
    this.outBytes += frame.length;
  }

  /**
   * Once per event-loop turn that queued a frame or settled the last pending call, in its check
   * phase: the turn's frames go out, then idleness is reported if nothing is pending any more.
   * Deferring it to here means a client that is busy without pause (the next calls start as
   * the replies of the last ones are read, in the same turn) never flips busy and idle, each
   * flip being a ref or unref of the child's handles and the sweep timer.
   */
  private scheduleTurnEnd(): void {
    if (this.turnEndScheduled) return;
    this.turnEndScheduled = true;
    setImmediate(this.endTurn);
  }

  private onTurnEnd(): void {
    this.turnEndScheduled = false;
    this.writeQueued();
    if (this.busy && this.pending.size === 0 && !this.closeReason) {
      this.busy = false;
      this.sweepTimer?.unref();
      this.options.onBusyChange?.(false);
    }
  }

  private writeQueued(): void {
    const queue = this.outQueue;
    if (queue.length === 0) return;
    const bytes = this.outBytes;
    this.outQueue = [];
    this.outBytes = 0;
    if (this.closeReason) return;
    try {
      this.input.write(queue.length === 1 ? queue[0] : Buffer.concat(queue, bytes));
    } catch (err) {
      this.close(new XemsUnavailableError('writing to its stdin failed', { cause: err }));
    }
  }

  /**
   * The sweep timer keeps the process alive while calls wait (as a timer per call did) and
   * not while idle; it stops at its first tick with nothing pending, so going busy and idle
   * at every request (HTTP at low concurrency) only flips its ref.
   */
  private onBusy(): void {
    this.busy = true;
    if (this.sweepTimer) this.sweepTimer.ref();
    else this.sweepTimer = setInterval(this.sweep, TIMEOUT_SWEEP_MS);
    this.options.onBusyChange?.(true);
  }

  /**
   * Finds the calls past their deadline and fails them once this event-loop turn has read the
   * pipe; stops itself once nothing is pending. The sweep runs in the timers phase, which
   * comes before the poll phase that reads replies: after the loop was blocked (a long
   * synchronous task) for longer than the timeout, replies that arrived meanwhile wait in the
   * pipe. Failing their calls here would answer a timeout for work the sidecar did (a rotation
   * the caller then never sees), so the failures wait for the check phase (setImmediate),
   * which follows this turn's poll phase: a call whose reply was read by then is settled with
   * it instead.
   */
  private sweepDeadlines(): void {
    if (this.pending.size === 0) {
      this.stopSweep();
      return;
    }
    const now = performance.now();
    let late: LateCalls | undefined;
    for (const [id, call] of this.pending) {
      if (call.deadline <= now) (late ??= []).push([id, call]);
    }
    if (late) setImmediate(this.expireLate, late);
  }

  /** Fails with XemsTimeoutError the late calls still waiting (not answered or closed meanwhile). */
  private expire(late: LateCalls): void {
    for (const [id, call] of late) {
      if (this.pending.get(id) !== call) continue;
      this.settle(id);
      call.reject(new XemsTimeoutError(opName(call.op), call.timeoutMs));
      if (this.stalledSince === 0) {
        this.stalledSince = performance.now();
        this.options.onStall?.(true, call.timeoutMs);
      }
    }
  }

  private stopSweep(): void {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
  }

  /**
   * The one close path: marks the client closed, rejects every pending call (and the
   * handshake) at once, and stops reading. Idempotent; the first reason wins.
   */
  close(reason: Error): void {
    if (this.closeReason) return;
    this.closeReason = reason;
    const error = this.unavailable();
    if (!this.settleHello.done) {
      this.settleHello.done = true;
      this.settleHello.reject(reason instanceof XemsError ? reason : error);
    }
    const calls = [...this.pending.values()];
    const wasBusy = this.busy;
    this.busy = false;
    this.pending.clear();
    this.stopSweep();
    this.outQueue = [];
    this.outBytes = 0;
    for (const call of calls) call.reject(error);
    if (wasBusy) this.options.onBusyChange?.(false);
    this.output.removeAllListeners('data');
    this.resolveClosed(reason);
  }

  private unavailable(): XemsUnavailableError {
    const reason = this.closeReason!;
    return reason instanceof XemsUnavailableError
      ? reason
      : new XemsUnavailableError(reason.message, { cause: reason });
  }

  private allocateId(): number {
    // Ids wrap at 2^32-1; 0 is reserved for sidecar-initiated frames; an id still pending
    // (a very slow call) is skipped. maxInFlight < 2^32 guarantees a free id exists.
    for (;;) {
      const id = this.nextId;
      this.nextId = id === MAX_ID ? 1 : id + 1;
      if (!this.pending.has(id)) return id;
    }
  }

  private settle(id: number): PendingCall | undefined {
    const call = this.pending.get(id);
    if (!call) return undefined;
    this.pending.delete(id);
    if (this.pending.size === 0) this.scheduleTurnEnd(); // reports idle there unless a call starts first
    return call;
  }

  private onData(chunk: Buffer): void {
    if (this.closeReason) return;
    // One clock read per chunk: the replies of a batch arrive together.
    this.readAt = performance.now();
    try {
      this.decoder.push(chunk, this.onPayload);
    } catch (err) {
      this.close(err instanceof Error ? err : new XemsProtocolError('BAD_REPLY', String(err), 'Rebuild the sidecar.'));
    }
  }

  /** One reply frame: `buf` from `start` to `end` (a view into the chunk read). */
  private onFrame(buf: Buffer, start: number, end: number): void {
    if (end - start < ReplyHeader.SIZE) {
      throw new XemsProtocolError('BAD_REPLY', `The xems sidecar sent a ${end - start}-byte frame (minimum ${ReplyHeader.SIZE})`, MISMATCHED_SIDECAR_HINT);
    }
    if (this.stalledSince !== 0) {
      const ms = this.readAt - this.stalledSince;
      this.stalledSince = 0;
      this.options.onStall?.(false, ms);
    }
    const id = buf.readUInt32LE(start + ReplyHeader.ID);
    const status = buf[start + ReplyHeader.STATUS];
    const body = new BodyReader(buf, start + ReplyHeader.SIZE, end);
    if (id === 0) return this.onSidecarFrame(status, body);
    if (!this.settleHello.done) {
      throw new XemsProtocolError('BAD_HANDSHAKE', 'The xems sidecar replied before sending HELLO', MISMATCHED_SIDECAR_HINT);
    }
    const call = this.settle(id);
    if (!call) return; // the call timed out earlier: its late reply is dropped
    this.options.onLatency?.(this.readAt - call.startedAt);
    if (status === Status.ERROR) {
      call.reject(sidecarError(call.op, body, call.timeoutMs));
    } else if (status === Status.OK || status === Status.NOT_FOUND || status === Status.REUSED || status === Status.MISMATCH) {
      let result: unknown;
      try {
        result = call.decode(status, body);
      } catch (err) {
        call.reject(err as Error); // a reply this call cannot read: the stream itself is fine
        return;
      }
      call.resolve(result);
    } else {
      const error = new XemsProtocolError('BAD_REPLY', `Unknown reply status ${status} for ${opName(call.op)}`, MISMATCHED_SIDECAR_HINT);
      call.reject(error); // already settled: the close path below would not reach it
      throw error;
    }
  }

  private onSidecarFrame(kind: number, body: BodyReader): void {
    if (kind === FrameKind.EXPIRED && this.settleHello.done) {
      const { sandbox, sessionIds } = decodeExpiredFrame(body);
      this.options.onExpired?.(sandbox, sessionIds);
      return;
    }
    if (kind === FrameKind.ENDED && this.settleHello.done) {
      const { sandbox, reason, sessionIds } = decodeEndedFrame(body);
      this.options.onEnded?.(sandbox, reason, sessionIds);
      return;
    }
    if (kind !== FrameKind.HELLO || this.settleHello.done) {
      throw new XemsProtocolError('BAD_HANDSHAKE', `Unexpected sidecar frame kind ${kind}`, MISMATCHED_SIDECAR_HINT);
    }
    const { protocolVersion, buildVersion } = decodeHelloFrame(body);
    if (protocolVersion !== PROTOCOL_VERSION) {
      throw new XemsProtocolError(
        'VERSION_MISMATCH',
        `The xems sidecar speaks protocol version ${protocolVersion} (build ${buildVersion}); this module speaks version ${PROTOCOL_VERSION}`,
        MISMATCHED_SIDECAR_HINT,
      );
    }
    this.settleHello.done = true;
    this.settleHello.resolve({ protocolVersion, buildVersion });
  }
}
