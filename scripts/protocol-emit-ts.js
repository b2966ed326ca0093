'use strict';
// The TypeScript side of the protocol, emitted from the table: src/sidecar/stdio-protocol.gen.ts
// (constants, request encoders, reply decoders), the mirror of the Go file by name.
const { HEADER, TYPES, table, ops, layout, goName, upperFirst, hex2, headerOffsets } = require('./protocol-layout');

function tsObject(name, doc, entries, hex = false) {
  const body = entries.map(([k, v]) => `  ${k}: ${hex ? hex2(v) : v},`).join('\n');
  return `/** ${doc} */\nexport const ${name} = {\n${body}\n} as const;\n`;
}

function tsFieldType(it, reply) {
  if (it.kind === 'field') return reply ? (TYPES[it.type].tsReply ?? TYPES[it.type].ts) : TYPES[it.type].ts;
  const inner = it.fields.map((f) => `${f.name}: ${tsFieldType(f, reply)}`).join('; ');
  if (it.kind === 'repeat') return it.fields.length === 1 ? `${tsFieldType(it.fields[0], reply)}[]` : `Array<{ ${inner} }>`;
  return `{ ${inner} }`;
}

function tsInterface(name, items, reply) {
  const lines = items.map((it) => `  ${it.name}${it.kind === 'ext' || it.kind === 'when' ? '?' : ''}: ${tsFieldType(it, reply)};`);
  return `export interface ${name} {\n${lines.join('\n')}\n}\n`;
}

function tsWrite(items, src, indent, opName) {
  const pad = '  '.repeat(indent);
  const out = [];
  for (const it of items) {
    if (it.kind === 'field') {
      const arg = it.type === 'str' ? `, '${it.name}'` : '';
      out.push(`${pad}w.${it.type}(${src}.${it.name}${arg});`);
    } else if (it.kind === 'ext') {
      out.push(
        `${pad}const ${it.name} = ${src}.${it.name};`,
        `${pad}if (${it.name}) {`,
        ...tsWrite(it.fields, it.name, indent + 1, opName),
        `${pad}}`,
      );
    } else if (it.kind === 'when') {
      const cond = `(${src}.${it.field} & ${tsFlagSetName(it.flagSet)}.${it.bit}) !== 0`;
      out.push(
        `${pad}const ${it.name} = ${src}.${it.name};`,
        `${pad}if (${cond} !== (${it.name} !== undefined)) {`,
        `${pad}  throw new TypeError('${opName}: ${it.name} must be given exactly when ${it.field} has ${it.bit}');`,
        `${pad}}`,
        `${pad}if (${it.name}) {`,
        ...tsWrite(it.fields, it.name, indent + 1, opName),
        `${pad}}`,
      );
    } else {
      out.push(
        `${pad}w.${it.count}(${src}.${it.name}.length);`,
        `${pad}for (const e of ${src}.${it.name}) {`,
        ...tsWrite(it.fields, 'e', indent + 1, opName),
        `${pad}}`,
      );
    }
  }
  return out;
}

/** Statements reading a reply layout into local variables named after the fields. */
function tsRead(items, indent) {
  const pad = '  '.repeat(indent);
  const out = [];
  for (const it of items) {
    if (it.kind === 'field') {
      out.push(`${pad}const ${it.name} = r.${it.type}();`);
    } else if (it.kind === 'repeat') {
      const single = it.fields.length === 1;
      const value = single ? `r.${it.fields[0].type}()` : `{ ${it.fields.map((f) => `${f.name}: r.${f.type}()`).join(', ')} }`;
      out.push(
        `${pad}const ${it.name}: ${tsFieldType(it, true)} = [];`,
        `${pad}for (let n = r.${it.count}(); n > 0; n--) ${it.name}.push(${value});`,
      );
    } else {
      throw new Error(`a reply cannot hold a ${it.kind} group`);
    }
  }
  return out;
}

function tsFlagSetName(set) {
  return upperFirst(set);
}

function tsDecoder(fnName, typeName, items) {
  if (items.length === 0) return `export function ${fnName}(r: FieldReader): void {\n  r.end();\n}\n`;
  return `${tsInterface(typeName, items, true)}\nexport function ${fnName}(r: FieldReader): ${typeName} {\n${tsRead(items, 1).join('\n')}\n  r.end();\n  return { ${items.map((i) => i.name).join(', ')} };\n}\n`;
}

const STATUS_SUFFIX = { OK: '', NOT_FOUND: 'NotFound', REUSED: 'Reused', MISMATCH: 'Mismatch' };

function renderTs() {
  const req = headerOffsets(table.headers.request);
  const rep = headerOffsets(table.headers.reply);
  const s = [];
  s.push(`// ${HEADER}\n// The mirror of sidecar/internal/protocol/stdio_protocol.gen.go; docs/protocol.md is the prose.\n`);
  s.push(
    `/** The writer the request encoders use (frame-codec.ts's RequestWriter). */\nexport interface FieldWriter {\n  u8(v: number): unknown;\n  u16(v: number): unknown;\n  u32(v: number): unknown;\n  u64(v: number): unknown;\n  i64(v: number): unknown;\n  str(v: string, field?: string): unknown;\n  bytes(v: Uint8Array): unknown;\n}\n\n/** The reader the reply decoders use (frame-codec.ts's BodyReader). */\nexport interface FieldReader {\n  u8(): number;\n  u16(): number;\n  u32(): number;\n  u64(): number;\n  i64(): number;\n  str(): string;\n  bytes(): Buffer;\n  end(): void;\n}\n`,
  );
  s.push(`/** The protocol version sent in HELLO and expected in CONFIGURE. */\nexport const PROTOCOL_VERSION = ${table.version};\n`);
  s.push(
    tsObject('RequestHeader', 'Request header: byte offsets in the payload (after the u32 length) and its size.', [
      ['ID', req.offsets.id],
      ['OP', req.offsets.op],
      ['DEADLINE', req.offsets.deadline],
      ['SIZE', req.size],
    ]),
  );
  s.push(
    tsObject('ReplyHeader', 'Reply header (and sidecar-initiated frame header): offsets and size.', [
      ['ID', rep.offsets.id],
      ['STATUS', rep.offsets.status],
      ['SIZE', rep.size],
    ]),
  );
  s.push(tsObject('Limits', 'Limits of the protocol (docs/protocol.md).', Object.entries(table.limits)));
  s.push(
    tsObject(
      'Op',
      'Operation codes.',
      ops.map((o) => [o.name, o.code]),
      true,
    ),
  );
  s.push(`export type OpCode = (typeof Op)[keyof typeof Op];\n`);
  s.push(tsObject('Status', 'Reply statuses.', Object.entries(table.statuses)));
  s.push(`export type StatusCode = (typeof Status)[keyof typeof Status];\n`);
  s.push(tsObject('ErrorCode', 'Error codes of ERROR replies.', Object.entries(table.errorCodes)));
  s.push(
    tsObject(
      'FrameKind',
      'Kinds of sidecar-initiated frames (id 0).',
      Object.entries(table.frameKinds).map(([n, k]) => [n, k.code]),
    ),
  );
  for (const [name, set] of Object.entries(table.flagSets)) {
    s.push(tsObject(tsFlagSetName(name), `Values of ${name}.`, Object.entries(set.values)));
  }
  s.push(
    `/** Operation names by code. */\nexport const OP_NAMES: Readonly<Record<number, string>> = {\n${ops.map((o) => `  ${hex2(o.code)}: '${o.name}',`).join('\n')}\n};\n`,
  );
  s.push(
    `/** Error names by code. */\nexport const ERROR_NAMES: Readonly<Record<number, string>> = {\n${Object.entries(table.errorCodes)
      .map(([n, v]) => `  ${v}: '${n}',`)
      .join('\n')}\n};\n`,
  );
  s.push(tsDecoder('decodeErrorReply', 'ErrorReply', layout(table.errorBody)));
  for (const [name, kind] of Object.entries(table.frameKinds))
    s.push(tsDecoder(`decode${goName(name)}Frame`, `${goName(name)}Frame`, layout(kind.body)));
  for (const op of ops) {
    if (op.request.length) {
      s.push(
        `${tsInterface(`${op.ts}Request`, op.request, false)}\nexport function encode${op.ts}Request(w: FieldWriter, req: ${op.ts}Request): void {\n${tsWrite(op.request, 'req', 1, op.name).join('\n')}\n}\n`,
      );
    }
    for (const [status, body] of Object.entries(op.replies)) {
      if (status === 'NOT_FOUND') continue; // an empty body: nothing to decode
      s.push(tsDecoder(`decode${op.ts}${STATUS_SUFFIX[status]}Reply`, `${op.ts}${STATUS_SUFFIX[status]}Reply`, body));
    }
  }
  return s.join('\n');
}

module.exports = { renderTs };
