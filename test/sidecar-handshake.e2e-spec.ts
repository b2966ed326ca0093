import 'reflect-metadata';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger, LoggerService } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { XemsModule, XemsModuleOptions, XemsProtocolError, XemsService } from '../src';
import { RequestWriter } from '../src/sidecar/frame-codec';
import { SidecarClient } from '../src/sidecar/sidecar-client';
import { nextEvent } from './support/events';
import { Op, PROTOCOL_VERSION, encodeConfigureRequest } from '../src/sidecar/stdio-protocol.gen';

// The handshake's version check both ways, against real sidecar binaries built with other
// versions stamped in (go build -ldflags "-X main.version=..."), as a stale binary would be.

const root = join(__dirname, '..', '..');
const packageVersion = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
const workDir = mkdtempSync(join(tmpdir(), 'xems-handshake-'));
const hasGo = spawnSync(process.env.GO || 'go', ['version']).status === 0;
const OTHER_VERSION = '9.8.7';

/** Builds the sidecar with `version` stamped in ('' = unstamped, a development build). */
function buildSidecar(name: string, version: string): string {
  const out = join(workDir, name, 'xems-sidecar');
  const ldflags = version ? ['-ldflags', `-X main.version=${version}`] : [];
  const built = spawnSync(process.env.GO || 'go', ['build', ...ldflags, '-o', out, './cmd/xems-sidecar'], {
    cwd: join(root, 'sidecar'),
    encoding: 'utf8',
  });
  if (built.status !== 0) throw new Error(`go build failed: ${built.stderr}`);
  return out;
}

async function compile(options: XemsModuleOptions) {
  const ref = await Test.createTestingModule({ imports: [XemsModule.forRoot(options)] }).compile();
  return { ref, xems: ref.get(XemsService) };
}

function captureWarnings(): { lines: string[]; restore(): void } {
  const lines: string[] = [];
  const capture: LoggerService = {
    log: () => undefined,
    warn: (m: unknown, ctx?: unknown) => lines.push(`${String(ctx)} ${String(m)}`),
    error: () => undefined,
  };
  Logger.overrideLogger(capture);
  return { lines, restore: () => Logger.overrideLogger(new Logger()) };
}

describe('the handshake checks versions both ways', { skip: !hasGo && 'Go is needed to build sidecars of other versions' }, () => {
  let other: string;
  let dev: string;
  before(() => {
    other = buildSidecar('other', OTHER_VERSION);
    dev = buildSidecar('dev', '');
  });
  after(() => rmSync(workDir, { recursive: true, force: true }));

  it('the module refuses a sidecar built as another version, naming both versions and the fix', async () => {
    const { ref } = await compile({ sidecar: { binaryPath: other } });
    await assert.rejects(ref.init(), (err: unknown) => {
      assert.ok(err instanceof XemsProtocolError, String(err));
      assert.equal(err.code, 'VERSION_MISMATCH');
      assert.match(err.message, new RegExp(`version ${OTHER_VERSION.replace(/\./g, '\\.')} `));
      assert.match(err.message, new RegExp(`package is version ${packageVersion.replace(/\./g, '\\.')}`));
      assert.match(err.message, new RegExp(other.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')));
      assert.match(err.hint, /npx nestjs-xems build-sidecar/);
      assert.match(err.hint, /sidecar\.binaryPath/);
      return true;
    });
    await ref.close().catch(() => undefined);
  });

  it('the module accepts a development build with one warning, also across restarts', async () => {
    const { ref, xems } = await compile({ sidecar: { binaryPath: dev } });
    const warnings = captureWarnings();
    try {
      await ref.init();
      assert.match(xems.sidecar.buildVersion ?? '', /^dev\+go/);
      const devWarnings = () => warnings.lines.filter((l) => /development build/.test(l));
      assert.equal(devWarnings().length, 1, warnings.lines.join('\n'));
      assert.match(devWarnings()[0], new RegExp(`not checked against nestjs-xems ${packageVersion.replace(/\./g, '\\.')}`));
      const restarted = nextEvent(xems, 'sidecar.restarted');
      process.kill(xems.sidecar.pid!, 'SIGKILL');
      await restarted;
      const token = await xems.createSession('app', { ok: true });
      assert.ok(token.length > 0);
      assert.equal(devWarnings().length, 1, 'one warning per process, not per restart');
    } finally {
      warnings.restore();
      await ref.close();
    }
  });

  it('the sidecar refuses a client of another version in CONFIGURE, naming both', async () => {
    const child = spawn(other, [], { stdio: ['pipe', 'pipe', 'ignore'] });
    const client = new SidecarClient(child.stdin, child.stdout, { requestTimeoutMs: 5000, maxInFlight: 10 });
    try {
      const hello = await client.hello;
      assert.equal(hello.protocolVersion, PROTOCOL_VERSION);
      assert.match(hello.buildVersion, new RegExp(`^${OTHER_VERSION.replace(/\./g, '\\.')}\\+go`));
      const configure = (clientVersion: string) => {
        const w = new RequestWriter(Op.CONFIGURE);
        encodeConfigureRequest(w, { protocolVersion: PROTOCOL_VERSION, clientVersion, configJson: Buffer.from('{}'), secrets: [] });
        return client.request(Op.CONFIGURE, w.finish());
      };
      await assert.rejects(configure(packageVersion), (err: unknown) => {
        assert.ok(err instanceof XemsProtocolError, String(err));
        assert.equal(err.code, 'VERSION_MISMATCH');
        assert.match(err.message, new RegExp(`nestjs-xems ${packageVersion.replace(/\./g, '\\.')}`));
        assert.match(err.message, new RegExp(`built as ${OTHER_VERSION.replace(/\./g, '\\.')}`));
        return true;
      });
      // Refused, not configured: a client of its own version still can.
      assert.equal((await configure(OTHER_VERSION)).status, 0);
    } finally {
      client.close(new Error('test done'));
      child.stdin.end();
      await new Promise((resolve) => child.once('exit', resolve));
    }
  });
});
