import { XemsError } from '../xems.errors';
import { BodyReader } from './frame-codec';
/** Constants of docs/protocol.md (version 1). */
export declare const PROTOCOL_VERSION = 1;
export declare const Op: {
    readonly CONFIGURE: 1;
    readonly PING: 2;
    readonly SHUTDOWN: 3;
    readonly STATS: 4;
    readonly KV_SET: 16;
    readonly KV_GET: 17;
    readonly KV_DEL: 18;
    readonly KV_HAS: 19;
    readonly KV_TTL: 20;
    readonly KV_TOUCH: 21;
    readonly KV_SCAN: 22;
    readonly CLEAR: 23;
    readonly S_CREATE: 32;
    readonly S_RESOLVE: 33;
    readonly S_UPDATE: 34;
    readonly S_REVOKE: 35;
    readonly S_LIST: 36;
    readonly S_REVOKE_ALL: 37;
    readonly S_REVOKE_ID: 38;
};
export type OpCode = (typeof Op)[keyof typeof Op];
export declare function opName(op: number): string;
export declare const Status: {
    readonly OK: 0;
    readonly NOT_FOUND: 1;
    readonly ERROR: 2;
    readonly REUSED: 3;
};
export type StatusCode = (typeof Status)[keyof typeof Status];
/** Kinds of sidecar-initiated frames (id 0). */
export declare const SidecarFrame: {
    readonly HELLO: 0;
};
export declare const ErrorCode: {
    readonly BAD_REQUEST: 1;
    readonly UNKNOWN_OP: 2;
    readonly INVALID_SANDBOX: 3;
    readonly KEY_TOO_LARGE: 4;
    readonly VALUE_TOO_LARGE: 5;
    readonly INVALID_TTL: 6;
    readonly FRAME_TOO_LARGE: 7;
    readonly NOT_CONFIGURED: 8;
    readonly SHUTTING_DOWN: 9;
    readonly VERSION_MISMATCH: 10;
    readonly INTERNAL: 11;
};
/** One reply frame: the id's status and the undecoded body. */
export interface SidecarReply {
    status: number;
    body: BodyReader;
}
/** Turns an ERROR reply into the matching XemsError subclass. */
export declare function sidecarError(op: number, reader: BodyReader): XemsError;
