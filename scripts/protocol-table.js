'use strict';
// The one definition of the sidecar wire protocol (docs/protocol.md is its prose). Both sides'
// constants and field layouts are generated from this table by scripts/generate-protocol.js:
//   src/sidecar/stdio-protocol.gen.ts              (the module's client)
//   sidecar/internal/protocol/stdio_protocol.gen.go (the sidecar's decoder)
//   sidecar/internal/xerr/codes.gen.go               (the sidecar's error codes)
// The build runs the generator; a test fails when a generated file is stale. A new operation is
// one entry in `ops` plus its Go handler (sidecar/internal/server/handlers.go) and its
// SidecarApi method (src/sidecar/sidecar-api.ts).
//
// Field types: u8 u16 u32 u64 i64 (little-endian), str (u16 length + UTF-8), bytes (u32 length
// + raw bytes). A field is [name, type] or [name, type, { go, bits }]: `go` is the field of the
// Go Request struct it decodes into (default: the name in Go casing), `bits` the flag set whose
// unknown bits the decoder refuses. Groups:
//   { ext: 'name', fields }          optional trailing extension: all of it, or none (HasExt)
//   { when: [field, bit], name, fields } present exactly when that flag bit is set
//   { repeat: 'name', count: 'u16' | 'u32', fields, go: { slice, type } } count, then the fields n times

/** Bumped on every change of a layout below (the client and the sidecar compare it in HELLO / CONFIGURE). */
const version = 4;

/** Frame headers (after the u32 length prefix of every frame). */
const headers = {
  // deadline: Unix ms after which the client has given up on the request (0 = none).
  request: [
    ['id', 'u32'],
    ['op', 'u8'],
    ['deadline', 'i64'],
  ],
  reply: [
    ['id', 'u32'],
    ['status', 'u8'],
  ],
  // Sidecar-initiated frames use id 0 and a kind byte in place of the status.
  sidecar: [
    ['id', 'u32'],
    ['kind', 'u8'],
  ],
};

/** Protocol limits, shared by both sides (the sidecar's stores enforce the same numbers). */
const limits = {
  maxStrBytes: 65535,
  defaultMaxFrameSize: 1 << 20,
  minMaxFrameSize: 4096,
  maxMaxFrameSize: 64 << 20,
  defaultMaxValueSize: 65536,
  maxKeySize: 1024,
  maxTtlMs: 432000000, // 5 days
  maxGraceMs: 60000,
  defaultUpdateGraceMs: 2000, // S_UPDATE without its extension
  maxScanLimit: 1000,
};

const statuses = { OK: 0, NOT_FOUND: 1, ERROR: 2, REUSED: 3, MISMATCH: 4 };

/** Body of every ERROR reply. */
const errorBody = [
  ['code', 'u16'],
  ['message', 'str'],
];

/** Error codes (u16). Never renumber one. */
const errorCodes = {
  BAD_REQUEST: 1,
  UNKNOWN_OP: 2,
  INVALID_SANDBOX: 3,
  KEY_TOO_LARGE: 4,
  VALUE_TOO_LARGE: 5,
  INVALID_TTL: 6,
  FRAME_TOO_LARGE: 7,
  NOT_CONFIGURED: 8,
  SHUTTING_DOWN: 9,
  VERSION_MISMATCH: 10,
  INTERNAL: 11,
  LIMIT_REACHED: 12,
  DEADLINE_EXCEEDED: 13, // the request's deadline passed before it was applied: nothing applied
  VAULT_WRONG_SECRET: 20,
  VAULT_WRONG_MACHINE: 21,
  VAULT_CORRUPT: 22,
  VAULT_LOCKED: 23,
  VAULT_IO: 24,
  PERSIST_FAILED: 25,
  UNAVAILABLE: 30,
  STORE_WRONG_SECRET: 31,
  STORE_WRONG_IDENTITY: 32,
  DEVICE_PROOF_OVERDUE: 50, // a device-bound session past its proof deadline: the browser must refresh
  DEVICE_PROOF_REFUSED: 51, // a registration or refresh proof that does not verify (nothing changed)
  DEVICE_NOT_BOUND: 52, // a refresh for a session without a device key
  DEVICE_ALREADY_BOUND: 53, // a second registration for a bound session
};

/** Sidecar-initiated frames (id 0) and their bodies. */
const frameKinds = {
  HELLO: {
    code: 0,
    body: [
      ['protocolVersion', 'u16'],
      ['buildVersion', 'str'],
    ],
  },
  EXPIRED: { code: 1, body: [['sandbox', 'str'], { repeat: 'sessionIds', count: 'u32', fields: [['sessionId', 'str']] }] },
  // Redis store with CONFIGURE endedEvents: sessions another instance's sidecar ended (WebSockets, issue 15).
  ENDED: {
    code: 2,
    body: [['sandbox', 'str'], ['reason', 'u8'], { repeat: 'sessionIds', count: 'u32', fields: [['sessionId', 'str']] }],
  },
};

/**
 * Named bits and enumerations of u8 fields. `go` is the prefix of the Go constants; `known`
 * marks a bit set whose unknown bits a request decoder refuses.
 */
const flagSets = {
  resolveFlags: { go: 'Flag', known: true, values: { ROTATE: 1, CHECK_BINDING: 2, WANT_CSRF: 4 } },
  // S_PEEK's flags: CHECK_BINDING is the same bit as S_RESOLVE's, followed by the same block.
  peekFlags: { go: 'PeekFlag', known: true, values: { CHECK_BINDING: 2 } },
  createFlags: { go: 'Create', known: true, values: { REMEMBER: 1 } },
  regenFlags: { go: 'Regen', known: true, values: { KEEP_DATA: 1 } },
  // bits 0-1: the address mode (OFF, SUBNET, EXACT); bit 2: the user agent.
  bindMode: { go: 'BindMode', values: { OFF: 0, SUBNET: 1, EXACT: 2, USER_AGENT: 4 } },
  onLimit: { go: 'OnLimit', values: { EVICT_OLDEST: 0, REJECT: 1 } },
  onMismatch: { go: 'OnMismatch', values: { REVOKE: 0, REJECT: 1, LOG: 2 } },
  sessionFlags: { go: 'SessionFlag', values: { REMEMBER: 1, IDLE: 2, DEVICE_BOUND: 4 } },
  deviceAlgs: { go: 'DeviceAlg', known: true, values: { ES256: 1, RS256: 2 } },
  mismatchBits: { go: 'Mismatch', values: { IP: 1, USER_AGENT: 2 } },
  endReason: { go: 'Ended', values: { REVOKED: 0, EVICTED: 1, BINDING: 2, REUSED: 3, EXPIRED: 4, REGENERATED: 5 } },
  // The authentication methods of a session's authentication record (u32 authMethods): the
  // RFC 8176 "amr" values, plus WEBAUTHN (a passkey). Opaque to the sidecar, which stores them.
  authMethods: {
    go: 'AuthMethod',
    values: {
      PWD: 1,
      OTP: 2,
      SMS: 4,
      TEL: 8,
      HWK: 16,
      SWK: 32,
      PIN: 64,
      FPT: 128,
      FACE: 256,
      IRIS: 512,
      RETINA: 1024,
      VBM: 2048,
      KBA: 4096,
      MFA: 8192,
      MCA: 16384,
      SC: 32768,
      POP: 65536,
      GEO: 131072,
      RBA: 262144,
      WIA: 524288,
      USER: 1048576,
      WEBAUTHN: 2097152,
    },
  },
};

const sandbox = ['sandbox', 'str'];
const key = ['key', 'bytes'];
const token = ['token', 'str'];
/** What S_PEEK and S_PEEK_ID answer: the live session, as it is, changed in nothing. */
const peekReply = [
  ['sessionId', 'str'],
  ['expiresAt', 'i64'],
  ['data', 'bytes'],
  ['sessionFlags', 'u8'],
  ['deviceDeadline', 'i64'], // the proof deadline of a device-bound session (Unix ms; 0 = not bound)
];
/** The client a request is checked against when its flags carry CHECK_BINDING (S_RESOLVE, S_PEEK). */
const bindingBlock = {
  when: ['flags', 'CHECK_BINDING'],
  name: 'binding',
  fields: [
    ['onMismatch', 'u8'],
    ['ip', 'str'],
    ['userAgent', 'str'],
  ],
};
const sessionIds = (name) => ({ repeat: name, count: 'u32', fields: [['sessionId', 'str']] });

/**
 * The operations. `request`: the body after the header; `reply`: the body of each status the
 * op may answer besides ERROR (OK always; NOT_FOUND, REUSED, MISMATCH where listed).
 */
const ops = {
  CONFIGURE: {
    code: 0x01,
    request: [
      ['protocolVersion', 'u16'],
      ['clientVersion', 'str'], // the nestjs-xems version of the client (handshake check)
      ['configJson', 'bytes'],
      {
        repeat: 'secrets',
        count: 'u16',
        go: { slice: 'Secrets', type: 'Secret' },
        fields: [
          ['name', 'str'],
          ['value', 'bytes'],
        ],
      },
    ],
    reply: { OK: [['effectiveConfigJson', 'str']] },
  },
  PING: { code: 0x02, request: [], reply: { OK: [] } },
  SHUTDOWN: { code: 0x03, request: [], reply: { OK: [] } },
  STATS: { code: 0x04, request: [], reply: { OK: [['statsJson', 'bytes']] } },

  KV_SET: { code: 0x10, request: [sandbox, key, ['value', 'bytes'], ['ttlMs', 'u64']], reply: { OK: [['expiresAt', 'i64']] } },
  KV_GET: {
    code: 0x11,
    request: [sandbox, key],
    reply: {
      OK: [
        ['value', 'bytes'],
        ['expiresAt', 'i64'],
      ],
      NOT_FOUND: [],
    },
  },
  KV_DEL: { code: 0x12, request: [sandbox, key], reply: { OK: [['existed', 'u8']] } },
  KV_HAS: { code: 0x13, request: [sandbox, key], reply: { OK: [['exists', 'u8']] } },
  KV_TTL: { code: 0x14, request: [sandbox, key], reply: { OK: [['remainingMs', 'i64']], NOT_FOUND: [] } },
  KV_TOUCH: { code: 0x15, request: [sandbox, key, ['ttlMs', 'u64']], reply: { OK: [['expiresAt', 'i64']], NOT_FOUND: [] } },
  KV_SCAN: {
    code: 0x16,
    request: [sandbox, ['prefix', 'bytes', { go: 'Key' }], ['cursor', 'str'], ['limit', 'u32']],
    reply: { OK: [['nextCursor', 'str'], { repeat: 'keys', count: 'u32', fields: [['key', 'bytes']] }] },
  },
  CLEAR: { code: 0x17, request: [sandbox], reply: { OK: [['removed', 'u64']] } },

  S_CREATE: {
    code: 0x20,
    request: [
      sandbox,
      ['data', 'bytes', { go: 'Value' }],
      ['ttlMs', 'u64'],
      ['idleMs', 'u64'], // 0 = no idle timeout
      ['userId', 'str'], // "" = none
      ['meta', 'bytes'],
      {
        ext: 'ext',
        fields: [
          ['createFlags', 'u8', { bits: 'createFlags' }],
          ['maxSessions', 'u32', { go: 'MaxPerUser' }], // 0 = no limit
          ['onLimit', 'u8'],
          ['bindMode', 'u8'],
          ['ip', 'str'],
          ['userAgent', 'str'],
          // The login's authentication record: authAt Unix ms (0 = none), authMethods bits.
          ['authAt', 'i64'],
          ['authMethods', 'u32', { bits: 'authMethods' }],
        ],
      },
    ],
    reply: {
      OK: [['token', 'str'], ['sessionId', 'str'], ['expiresAt', 'i64'], ['csrfToken', 'str'], sessionIds('evicted')],
    },
  },
  S_RESOLVE: {
    code: 0x21,
    request: [
      sandbox,
      token,
      ['flags', 'u8', { bits: 'resolveFlags' }],
      ['graceMs', 'u64'],
      ['minRotateIntervalMs', 'u64', { go: 'MinRotateMs' }],
      bindingBlock,
    ],
    reply: {
      OK: [
        ['token', 'str'], // the session's current token
        ['rotated', 'u8'],
        ['expiresAt', 'i64'],
        ['sessionId', 'str'],
        ['data', 'bytes'],
        ['sessionFlags', 'u8'],
        ['mismatch', 'u8'],
        ['csrfToken', 'str'], // "" unless WANT_CSRF
        ['authAt', 'i64'], // the authentication record (0 = none)
        ['authMethods', 'u32'],
      ],
      NOT_FOUND: [],
      REUSED: [['sessionId', 'str']],
      MISMATCH: [
        ['sessionId', 'str'],
        ['mismatch', 'u8'],
        ['revoked', 'u8'],
      ],
    },
  },
  S_UPDATE: {
    code: 0x22,
    request: [sandbox, token, ['data', 'bytes', { go: 'Value' }], { ext: 'ext', fields: [['graceMs', 'u64']] }],
    reply: { OK: [['expiresAt', 'i64']], NOT_FOUND: [] },
  },
  S_REVOKE: {
    code: 0x23,
    request: [sandbox, token],
    reply: {
      OK: [
        ['existed', 'u8'],
        ['sessionId', 'str'],
      ],
    },
  },
  S_LIST: {
    code: 0x24,
    request: [sandbox, ['userId', 'str']],
    reply: {
      OK: [
        {
          repeat: 'sessions',
          count: 'u32',
          fields: [
            ['sessionId', 'str'],
            ['createdAt', 'i64'],
            ['lastSeenAt', 'i64'],
            ['expiresAt', 'i64'],
            ['meta', 'bytes'],
            ['authAt', 'i64'],
            ['authMethods', 'u32'],
            ['deviceBound', 'u8'],
          ],
        },
      ],
    },
  },
  S_REVOKE_ALL: {
    code: 0x25,
    // except: a token or a session id of the session to keep ("" = none)
    request: [sandbox, ['userId', 'str'], ['except', 'str', { go: 'Token' }]],
    reply: { OK: [sessionIds('revoked')] },
  },
  S_REVOKE_ID: { code: 0x26, request: [sandbox, ['sessionId', 'str']], reply: { OK: [['existed', 'u8']] } },
  S_REGENERATE: {
    code: 0x27,
    go: 'OpSRegen',
    request: [
      sandbox,
      token,
      ['graceMs', 'u64'],
      ['flags', 'u8', { bits: 'regenFlags' }],
      ['data', 'bytes', { go: 'Value' }],
      // Present: a reauthentication, the new session gets this authentication record.
      {
        ext: 'ext',
        fields: [
          ['authAt', 'i64'],
          ['authMethods', 'u32', { bits: 'authMethods' }],
        ],
      },
    ],
    reply: {
      OK: [
        ['token', 'str'],
        ['sessionId', 'str'],
        ['expiresAt', 'i64'],
        ['csrfToken', 'str'],
        ['sessionFlags', 'u8'],
        ['oldSessionId', 'str'],
        ['authAt', 'i64'],
        ['authMethods', 'u32'],
      ],
      NOT_FOUND: [],
    },
  },
  // WebSockets (issue 15): read-only checks, never a presentation, never reuse (docs/protocol.md).
  // Both refuse a device-bound session past its proof deadline (ERROR DEVICE_PROOF_OVERDUE);
  // S_PEEK checks the binding when asked, and a mismatch never revokes (MISMATCH, or OK with
  // the mismatch bits for the log action).
  S_PEEK: {
    code: 0x28,
    request: [sandbox, token, ['graceMs', 'u64'], ['flags', 'u8', { bits: 'peekFlags' }], bindingBlock],
    reply: {
      OK: [...peekReply, ['mismatch', 'u8']],
      NOT_FOUND: [],
      MISMATCH: [
        ['sessionId', 'str'],
        ['mismatch', 'u8'],
      ],
    },
  },
  S_PEEK_ID: { code: 0x29, request: [sandbox, ['sessionId', 'str']], reply: { OK: peekReply, NOT_FOUND: [] } },
  // Ends every session of a sandbox (an administrator's "log everyone out"); KV records stay.
  S_REVOKE_SANDBOX: { code: 0x2c, request: [sandbox], reply: { OK: [['revoked', 'u64']] } },
  // Ends every other session of the user of the token's session (a credential change).
  S_REVOKE_OTHERS: { code: 0x2d, request: [sandbox, token], reply: { OK: [sessionIds('revoked')] } },
  // Device binding (DBSC). Each acts on the session of a token it accepts (current, or an
  // older one within graceMs), never rotates it, and answers NOT_FOUND for any other token.
  DEVICE_CHALLENGE: {
    code: 0x30,
    request: [sandbox, token, ['graceMs', 'u64']],
    reply: {
      OK: [
        ['challenge', 'str'],
        ['sessionId', 'str'],
        ['deviceBound', 'u8'],
      ],
      NOT_FOUND: [],
    },
  },
  DEVICE_REGISTER: {
    code: 0x31,
    request: [sandbox, token, ['graceMs', 'u64'], ['proof', 'str'], ['algs', 'u8', { bits: 'deviceAlgs' }], ['lifetimeMs', 'u64']],
    reply: {
      OK: [
        ['sessionId', 'str'],
        ['deadline', 'i64'],
      ],
      NOT_FOUND: [],
    },
  },
  DEVICE_REFRESH: {
    code: 0x32,
    request: [sandbox, token, ['graceMs', 'u64'], ['proof', 'str'], ['lifetimeMs', 'u64']],
    reply: {
      OK: [
        ['sessionId', 'str'],
        ['deadline', 'i64'],
      ],
      NOT_FOUND: [],
    },
  },
};

module.exports = { version, headers, limits, statuses, errorBody, errorCodes, frameKinds, flagSets, ops };
