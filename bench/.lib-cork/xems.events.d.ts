import type { SidecarEvent } from './sidecar/sidecar-process';
/** Session life-cycle events. They carry public session ids, never tokens. */
export type XemsSessionEvent = {
    type: 'session.created';
    sandbox: string;
    sessionId: string;
} | {
    type: 'session.rotated';
    sandbox: string;
    sessionId: string;
} | {
    type: 'session.reused';
    sandbox: string;
    sessionId: string;
} | {
    type: 'session.revoked';
    sandbox: string;
    sessionId?: string;
};
/**
 * Everything XemsService.events$ emits: sidecar life cycle (`sidecar.started`,
 * `sidecar.restarted`, `sidecar.unavailable`, `sidecar.stopped`) and session events.
 */
export type XemsEvent = SidecarEvent | XemsSessionEvent;
