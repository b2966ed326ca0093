'use strict';
// The Go side of the protocol, emitted from the table: sidecar/internal/protocol/
// stdio_protocol.gen.go (constants, request decoder, reference encoder, reply layout check) and
// sidecar/internal/xerr/codes.gen.go (error codes). Output is gofmt-clean as written.
const { HEADER, TYPES, table, ops, layout, goName, upperFirst, lowerFirst, hex2, headerOffsets, allFields } = require('./protocol-layout');

/** A gofmt-aligned const block: rows of [name, type or '', value]. */
function goConstBlock(doc, rows) {
  const comment = doc.map((d) => `// ${d}\n`).join('');
  if (rows.length === 1) {
    const [n, t, v] = rows[0];
    return `${comment}const ${n}${t ? ` ${t}` : ''} = ${v}\n`;
  }
  const nameW = Math.max(...rows.map((r) => r[0].length));
  const typed = rows.some((r) => r[1]);
  const typeW = Math.max(...rows.map((r) => r[1].length));
  const lines = rows.map(([n, t, v]) => {
    if (!typed) return `\t${n.padEnd(nameW)} = ${v}`;
    return `\t${n.padEnd(nameW)} ${t.padEnd(typeW)} = ${v}`;
  });
  return `${comment}const (\n${lines.join('\n')}\n)\n`;
}

/** Go statements decoding a layout into req (the Request struct). */
function goDecode(items, indent, target = 'req') {
  const out = [];
  const pad = '\t'.repeat(indent);
  for (const it of items) {
    if (it.kind === 'field') {
      out.push(`${pad}${target}.${it.go} = d.${TYPES[it.type].dec}(${JSON.stringify(it.name)})`);
    } else if (it.kind === 'ext') {
      out.push(`${pad}if req.HasExt = !d.Done(); req.HasExt {`, ...goDecode(it.fields, indent + 1), `${pad}}`);
    } else if (it.kind === 'when') {
      out.push(`${pad}if req.${goName(it.field)}&${whenConst(it)} != 0 {`, ...goDecode(it.fields, indent + 1), `${pad}}`);
    } else {
      const { slice, type } = it.go;
      const names = it.fields.map((f) => `${f.go}: ${lowerFirst(f.go)}`).join(', ');
      out.push(
        `${pad}n := d.${TYPES[it.count].dec}(${JSON.stringify(`n${upperFirst(it.name)}`)})`,
        `${pad}for i := 0; i < int(n) && d.field == ""; i++ {`,
        ...it.fields.map((f) => `${pad}\t${lowerFirst(f.go)} := d.${TYPES[f.type].dec}(${JSON.stringify(`${it.name} ${f.name}`)})`),
        `${pad}\t${target}.${slice} = append(${target}.${slice}, ${type}{${names}})`,
        `${pad}}`,
      );
    }
  }
  return out;
}

function whenConst(it) {
  return `${table.flagSets[it.flagSet].go}${goName(it.bit)}`;
}

/** Go statements appending a layout from req (the reference encoder). */
function goEncode(items, indent) {
  const out = [];
  const pad = '\t'.repeat(indent);
  for (const it of items) {
    if (it.kind === 'field') {
      out.push(`${pad}b = ${TYPES[it.type].enc(`req.${it.go}`)}`);
    } else if (it.kind === 'ext') {
      out.push(`${pad}if req.HasExt {`, ...goEncode(it.fields, indent + 1), `${pad}}`);
    } else if (it.kind === 'when') {
      out.push(`${pad}if req.${goName(it.field)}&${whenConst(it)} != 0 {`, ...goEncode(it.fields, indent + 1), `${pad}}`);
    } else {
      const { slice } = it.go;
      out.push(
        `${pad}b = ${TYPES[it.count].enc(`${TYPES[it.count].go}(len(req.${slice}))`)}`,
        `${pad}for _, e := range req.${slice} {`,
        ...it.fields.map((f) => `${pad}\tb = ${TYPES[f.type].enc(`e.${f.go}`)}`),
        `${pad}}`,
      );
    }
  }
  return out;
}

/** Go statements reading (and discarding) a reply layout: the layout check of CheckReply. */
function goSkip(items, indent) {
  const out = [];
  const pad = '\t'.repeat(indent);
  for (const it of items) {
    if (it.kind === 'field') {
      out.push(`${pad}d.${TYPES[it.type].dec}(${JSON.stringify(it.name)})`);
    } else if (it.kind === 'repeat') {
      out.push(
        `${pad}for n := d.${TYPES[it.count].dec}(${JSON.stringify(`n${upperFirst(it.name)}`)}); n > 0 && d.field == ""; n-- {`,
        ...goSkip(it.fields, indent + 1),
        `${pad}}`,
      );
    } else {
      throw new Error(`a reply cannot hold a ${it.kind} group`);
    }
  }
  return out;
}

/** switch cases, merging ops whose bodies are the same code. */
function goCases(entries, indent) {
  const pad = '\t'.repeat(indent);
  const groups = [];
  for (const [label, body] of entries) {
    const key = body.join('\n');
    const same = groups.find((g) => g.key === key);
    if (same) same.labels.push(label);
    else groups.push({ key, labels: [label], body });
  }
  return groups.flatMap((g) => [`${pad}case ${g.labels.join(', ')}:`, ...g.body]);
}

function renderGo() {
  const req = headerOffsets(table.headers.request);
  const rep = headerOffsets(table.headers.reply);
  const flagConsts = Object.values(table.flagSets).map((set) =>
    Object.entries(set.values).map(([n, v]) => [`${set.go}${goName(n)}`, '', String(v)]),
  );
  const known = Object.entries(table.flagSets).filter(([, set]) => set.known);
  const s = [];
  s.push(`// ${HEADER}\n\npackage protocol\n\nimport (\n\t"fmt"\n\n\t"github.com/nestjs-xems/nestjs-xems/sidecar/internal/xerr"\n)\n`);
  s.push(
    goConstBlock(['Version is the protocol version sent in HELLO and expected in CONFIGURE.'], [['Version', '', String(table.version)]]),
  );
  s.push(
    goConstBlock(
      [
        "Header sizes and the request header's field offsets (in the payload, after the u32 length).",
        'A request header is u32 id, u8 op, i64 deadline (Unix ms, 0 = none); a reply header u32 id,',
        "u8 status; a sidecar-initiated frame's u32 0, u8 kind.",
      ],
      [
        ['RequestHeaderSize', '', String(req.size)],
        ['ReplyHeaderSize', '', String(rep.size)],
        ['requestOffsetID', '', String(req.offsets.id)],
        ['requestOffsetOp', '', String(req.offsets.op)],
        ['requestOffsetDeadline', '', String(req.offsets.deadline)],
      ],
    ),
  );
  s.push(
    goConstBlock(
      ['Limits of the protocol (docs/protocol.md).'],
      Object.entries(table.limits).map(([n, v]) => [goName(n), '', String(v)]),
    ),
  );
  s.push(
    goConstBlock(
      ['Operation codes.'],
      ops.map((op) => [op.go, 'Op', hex2(op.code)]),
    ),
  );
  s.push(
    goConstBlock(
      ['Reply statuses.'],
      Object.entries(table.statuses).map(([n, v]) => [`Status${goName(n)}`, 'Status', String(v)]),
    ),
  );
  s.push(
    goConstBlock(
      ['Kinds of sidecar-initiated frames (id 0).'],
      Object.entries(table.frameKinds).map(([n, k]) => [`FrameKind${goName(n)}`, '', String(k.code)]),
    ),
  );
  for (const [i, [name]] of Object.entries(table.flagSets).entries()) {
    s.push(goConstBlock([`Values of ${name}.`], flagConsts[i]));
  }
  s.push(
    goConstBlock(
      ['The known bits of the flag sets a request decoder checks.'],
      known.map(([name, set]) => [
        `${name}Known`,
        '',
        Object.keys(set.values)
          .map((n) => `${set.go}${goName(n)}`)
          .join(' | '),
      ]),
    ),
  );
  s.push(`// allOps lists the operations in table order.\nvar allOps = []Op{${ops.map((o) => o.go).join(', ')}}\n`);
  s.push(
    `// opName returns the protocol name of an op, "" for an op not in the table.\nfunc opName(o Op) string {\n\tswitch o {\n${ops
      .map((o) => `\tcase ${o.go}:\n\t\treturn ${JSON.stringify(o.name)}`)
      .join('\n')}\n\t}\n\treturn ""\n}\n`,
  );
  s.push(
    `// statusName returns the protocol name of a status, "" for an unknown one.\nfunc statusName(st Status) string {\n\tswitch st {\n${Object.keys(
      table.statuses,
    )
      .map((n) => `\tcase Status${goName(n)}:\n\t\treturn ${JSON.stringify(n)}`)
      .join('\n')}\n\t}\n\treturn ""\n}\n`,
  );

  const decodeCases = ops.filter((op) => op.request.length).map((op) => [op.go, goDecode(op.request, 2)]);
  const emptyOps = ops.filter((op) => !op.request.length).map((op) => op.go);
  s.push(
    `// decodeBody decodes the body of req.Op (known) into req; failures stick in d.\nfunc decodeBody(d *Decoder, req *Request) {\n\tswitch req.Op {\n${goCases(decodeCases, 1).join('\n')}\n\tcase ${emptyOps.join(', ')}:\n\t}\n}\n`,
  );
  const bitChecks = [];
  for (const op of ops) {
    for (const f of allFields(op.request)) {
      if (!f.bits || !table.flagSets[f.bits].known) continue;
      bitChecks.push(
        `\tif req.Op == ${op.go} && req.${f.go}&^${f.bits}Known != 0 {\n\t\treturn xerr.New(xerr.BadRequest, "${op.name}: ${f.name} has unknown bits 0x%02x", req.${f.go}&^${f.bits}Known)\n\t}`,
      );
    }
  }
  s.push(
    `// checkFlagBits refuses unknown bits in the flag fields of a decoded request.\nfunc checkFlagBits(req *Request) error {\n${bitChecks.join('\n')}\n\treturn nil\n}\n`,
  );
  const encodeCases = ops.filter((op) => op.request.length).map((op) => [op.go, goEncode(op.request, 2)]);
  s.push(
    `// AppendRequest appends the payload of req (header and body, without the frame length) to b:\n// the reference encoder of the table, for tests and tools (the sidecar only decodes requests).\nfunc AppendRequest(b []byte, req *Request) []byte {\n\tb = AppendU32(b, req.ID)\n\tb = append(b, byte(req.Op))\n\tb = AppendI64(b, req.Deadline)\n\tswitch req.Op {\n${goCases(encodeCases, 1).join('\n')}\n\t}\n\treturn b\n}\n`,
  );
  s.push(renderGoReplyCheck());
  return s.join('\n');
}

function renderGoReplyCheck() {
  const cases = [];
  for (const status of Object.keys(table.statuses)) {
    if (status === 'ERROR') continue;
    const entries = ops.filter((op) => op.replies[status]).map((op) => [op.go, goSkip(op.replies[status], 3)]);
    cases.push(
      `\tcase Status${goName(status)}:\n\t\tswitch op {\n${goCases(entries, 2).join('\n')}\n\t\tdefault:\n\t\t\treturn fmt.Errorf("%s cannot answer ${status}", op)\n\t\t}`,
    );
  }
  const kinds = Object.entries(table.frameKinds).map(([n, k]) => [`FrameKind${goName(n)}`, goSkip(layout(k.body), 2)]);
  return (
    `// CheckReply reports whether body is a well-formed reply body of op with status, field by\n// field as the table lays it out (tests use it on every reply they read).\nfunc CheckReply(op Op, status Status, body []byte) error {\n\td := NewDecoder(body)\n\tswitch status {\n\tcase StatusError:\n${goSkip(layout(table.errorBody), 2).join('\n')}\n${cases.join('\n')}\n\tdefault:\n\t\treturn fmt.Errorf("unknown status %d", status)\n\t}\n\tif field, why, ok := d.Err(); !ok {\n\t\treturn fmt.Errorf("%s %s reply: %s %s", op, status, field, why)\n\t}\n\treturn nil\n}\n\n` +
    `// CheckSidecarFrame reports whether body is a well-formed body of a sidecar-initiated frame.\nfunc CheckSidecarFrame(kind uint8, body []byte) error {\n\td := NewDecoder(body)\n\tswitch kind {\n${goCases(kinds, 1).join('\n')}\n\tdefault:\n\t\treturn fmt.Errorf("unknown frame kind %d", kind)\n\t}\n\tif field, why, ok := d.Err(); !ok {\n\t\treturn fmt.Errorf("frame kind %d: %s %s", kind, field, why)\n\t}\n\treturn nil\n}\n`
  );
}

function renderXerr() {
  const rows = Object.entries(table.errorCodes).map(([n, v]) => [goName(n), 'Code', String(v)]);
  return (
    `// ${HEADER}\n\npackage xerr\n\n` +
    goConstBlock(['The protocol\'s error codes (docs/protocol.md, "Error codes").'], rows) +
    `\n// name returns the protocol name of a code, "" for an unknown one.\nfunc (c Code) name() string {\n\tswitch c {\n${Object.keys(
      table.errorCodes,
    )
      .map((n) => `\tcase ${goName(n)}:\n\t\treturn ${JSON.stringify(n)}`)
      .join('\n')}\n\t}\n\treturn ""\n}\n`
  );
}

module.exports = { renderGo, renderXerr };
