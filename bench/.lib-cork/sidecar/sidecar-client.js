"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.SidecarClient = void 0;
const xems_errors_1 = require("../xems.errors");
const frame_codec_1 = require("./frame-codec");
const protocol_1 = require("./protocol");
const MAX_ID = 0xffff_ffff;
const DEFAULT_MAX_REPLY_FRAME = 64 * 1024 * 1024;
/**
 * Speaks docs/protocol.md over one pair of pipes: request ids, a map of pending calls
 * (replies may come in any order), a timeout per call, a bound on calls in flight, and ONE
 * close path that fails every pending call at once. It knows nothing about processes: the
 * supervisor (sidecar-process.ts) owns the child and decides about restarts.
 */
class SidecarClient {
    input;
    output;
    options;
    /** Resolves with the sidecar's HELLO; rejects if the stream closes first or the version differs. */
    hello;
    /** Resolves (never rejects) with the reason once the client is closed. */
    closed;
    pending = new Map();
    decoder;
    nextId = 1;
    closeReason;
    settleHello;
    resolveClosed;
    constructor(input, output, options) {
        this.input = input;
        this.output = output;
        this.options = options;
        this.decoder = new frame_codec_1.FrameDecoder(options.maxReplyFrameSize ?? DEFAULT_MAX_REPLY_FRAME);
        this.hello = new Promise((resolve, reject) => {
            this.settleHello = { resolve, reject, done: false };
        });
        // The hello promise may be rejected before anyone awaits it (the child died at once).
        this.hello.catch(() => undefined);
        this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
        output.on('data', (chunk) => this.onData(chunk));
        output.on('end', () => this.close(new xems_errors_1.XemsUnavailableError('its stdout closed')));
        output.on('close', () => this.close(new xems_errors_1.XemsUnavailableError('its stdout closed')));
        output.on('error', (err) => this.close(new xems_errors_1.XemsUnavailableError('its stdout failed', { cause: err })));
        input.on('error', (err) => this.close(new xems_errors_1.XemsUnavailableError('its stdin failed', { cause: err })));
        input.on('close', () => this.close(new xems_errors_1.XemsUnavailableError('its stdin closed')));
    }
    get isClosed() {
        return this.closeReason !== undefined;
    }
    get inFlight() {
        return this.pending.size;
    }
    /**
     * Sends one request frame (built by RequestWriter) and resolves with its reply. ERROR replies
     * reject with the matching XemsError; OK, NOT_FOUND and REUSED resolve.
     */
    request(op, frame, timeoutMs = this.options.requestTimeoutMs) {
        if (this.closeReason)
            return Promise.reject(this.unavailable());
        if (this.pending.size >= this.options.maxInFlight) {
            return Promise.reject(new xems_errors_1.XemsOverloadedError(this.options.maxInFlight));
        }
        const id = this.allocateId();
        (0, frame_codec_1.stampRequestId)(frame, id);
        return new Promise((resolve, reject) => {
            const timer = setTimeout(() => {
                if (this.pending.get(id)?.timer !== timer)
                    return;
                this.settle(id);
                reject(new xems_errors_1.XemsTimeoutError((0, protocol_1.opName)(op), timeoutMs));
            }, timeoutMs);
            this.pending.set(id, { op, resolve, reject, timer });
            if (this.pending.size === 1)
                this.options.onBusyChange?.(true);
            try {
                if (!this.__corked) {
                    this.__corked = true;
                    this.input.cork();
                    process.nextTick(() => { this.__corked = false; this.input.uncork(); });
                }
                this.input.write(frame);
            }
            catch (err) {
                this.close(new xems_errors_1.XemsUnavailableError('writing to its stdin failed', { cause: err }));
            }
        });
    }
    /**
     * The one close path: marks the client closed, rejects every pending call (and the
     * handshake) at once, and stops reading. Idempotent; the first reason wins.
     */
    close(reason) {
        if (this.closeReason)
            return;
        this.closeReason = reason;
        const error = this.unavailable();
        if (!this.settleHello.done) {
            this.settleHello.done = true;
            this.settleHello.reject(reason instanceof xems_errors_1.XemsError ? reason : error);
        }
        const calls = [...this.pending.values()];
        const wasBusy = calls.length > 0;
        this.pending.clear();
        for (const call of calls) {
            clearTimeout(call.timer);
            call.reject(error);
        }
        if (wasBusy)
            this.options.onBusyChange?.(false);
        this.output.removeAllListeners('data');
        this.resolveClosed(reason);
    }
    unavailable() {
        const reason = this.closeReason;
        return reason instanceof xems_errors_1.XemsUnavailableError
            ? reason
            : new xems_errors_1.XemsUnavailableError(reason.message, { cause: reason });
    }
    allocateId() {
        // Ids wrap at 2^32-1; 0 is reserved for sidecar-initiated frames; an id still pending
        // (a very slow call) is skipped. maxInFlight < 2^32 guarantees a free id exists.
        for (;;) {
            const id = this.nextId;
            this.nextId = id === MAX_ID ? 1 : id + 1;
            if (!this.pending.has(id))
                return id;
        }
    }
    settle(id) {
        const call = this.pending.get(id);
        if (!call)
            return undefined;
        this.pending.delete(id);
        clearTimeout(call.timer);
        if (this.pending.size === 0)
            this.options.onBusyChange?.(false);
        return call;
    }
    onData(chunk) {
        if (this.closeReason)
            return;
        let payloads;
        try {
            payloads = this.decoder.push(chunk);
            for (const payload of payloads)
                this.onFrame(payload);
        }
        catch (err) {
            this.close(err instanceof Error ? err : new xems_errors_1.XemsProtocolError('BAD_REPLY', String(err), 'Rebuild the sidecar.'));
        }
    }
    onFrame(payload) {
        if (payload.length < 5) {
            throw new xems_errors_1.XemsProtocolError('BAD_REPLY', `The xems sidecar sent a ${payload.length}-byte frame (minimum 5)`, 'The sidecar binary does not match this module version; rebuild it with "npm run build:sidecar".');
        }
        const id = payload.readUInt32LE(0);
        const status = payload[4];
        const body = new frame_codec_1.BodyReader(payload, 5);
        if (id === 0)
            return this.onSidecarFrame(status, body);
        if (!this.settleHello.done) {
            throw new xems_errors_1.XemsProtocolError('BAD_HANDSHAKE', 'The xems sidecar replied before sending HELLO', 'The binary is not an xems sidecar, or a mismatched version; rebuild it with "npm run build:sidecar".');
        }
        const call = this.settle(id);
        if (!call)
            return; // the call timed out earlier: its late reply is dropped
        if (status === protocol_1.Status.ERROR) {
            call.reject((0, protocol_1.sidecarError)(call.op, body));
        }
        else if (status === protocol_1.Status.OK || status === protocol_1.Status.NOT_FOUND || status === protocol_1.Status.REUSED) {
            call.resolve({ status, body });
        }
        else {
            throw new xems_errors_1.XemsProtocolError('BAD_REPLY', `Unknown reply status ${status} for ${(0, protocol_1.opName)(call.op)}`, 'Rebuild the sidecar with "npm run build:sidecar".');
        }
    }
    onSidecarFrame(kind, body) {
        if (kind !== protocol_1.SidecarFrame.HELLO || this.settleHello.done) {
            throw new xems_errors_1.XemsProtocolError('BAD_HANDSHAKE', `Unexpected sidecar frame kind ${kind}`, 'Rebuild the sidecar with "npm run build:sidecar".');
        }
        const protocolVersion = body.u16();
        const buildVersion = body.str();
        body.end();
        if (protocolVersion !== protocol_1.PROTOCOL_VERSION) {
            throw new xems_errors_1.XemsProtocolError('VERSION_MISMATCH', `The xems sidecar speaks protocol version ${protocolVersion} (build ${buildVersion}); this module speaks version ${protocol_1.PROTOCOL_VERSION}`, 'Rebuild the sidecar from this package with "npm run build:sidecar" (or "npx nestjs-xems build-sidecar"), or point sidecar.binaryPath at a matching binary.');
        }
        this.settleHello.done = true;
        this.settleHello.resolve({ protocolVersion, buildVersion });
    }
}
exports.SidecarClient = SidecarClient;
//# sourceMappingURL=sidecar-client.js.map