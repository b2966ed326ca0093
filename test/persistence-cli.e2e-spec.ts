// `npx nestjs-xems secret` and `npx nestjs-xems vault verify|rekey`, run as the real CLI
// (bin/nestjs-xems.js) against vaults written by the real module and sidecar.
import 'reflect-metadata';
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Test } from '@nestjs/testing';
import { XemsModule, XemsModuleOptions, XemsService, XemsVaultError } from '../src';
import { parseVaultSecret } from '../src/persistence/vault-secret';
import { repoRoot } from './browser/support/paths';

const CLI = join(repoRoot(), 'bin', 'nestjs-xems.js');
const work = mkdtempSync(join(tmpdir(), 'xems-cli-'));
after(() => rmSync(work, { recursive: true, force: true }));

function cli(args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string } = {}) {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, ...opts.env };
  const r = spawnSync(process.execPath, [CLI, ...args], { env, input: opts.input ?? '', encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function withModule<T>(options: XemsModuleOptions, fn: (xems: XemsService) => Promise<T>): Promise<T> {
  const ref = await Test.createTestingModule({ imports: [XemsModule.forRoot(options)] })
    .setLogger(false as never)
    .compile();
  try {
    await ref.init();
    return await fn(ref.get(XemsService));
  } finally {
    await ref.close();
  }
}

function hashes(dir: string): string {
  return readdirSync(dir)
    .filter((f) => f !== 'xems.lock')
    .sort()
    .map(
      (f) =>
        `${f} ${createHash('sha256')
          .update(readFileSync(join(dir, f)))
          .digest('hex')}`,
    )
    .join('\n');
}

const secret = `base64:${randomBytes(32).toString('base64')}`;
const opts = (path: string, s = secret, id = 'machine-a'): XemsModuleOptions => ({
  persistence: { enabled: true, secret: s, path },
  hardwareBinding: { id },
});

describe('nestjs-xems secret', () => {
  it('prints a fresh 32-byte secret the module accepts', () => {
    const a = cli(['secret']);
    const b = cli(['secret']);
    assert.equal(a.code, 0);
    assert.match(a.stdout, /^base64:[A-Za-z0-9+/]{43}=\n$/);
    assert.notEqual(a.stdout, b.stdout);
    assert.equal(parseVaultSecret(a.stdout.trim()).bytes().length, 32);
  });
});

describe('nestjs-xems vault verify / rekey', () => {
  const dir = join(work, 'vault');

  it('verify checks every entry and prints the records per sandbox, changing nothing', async () => {
    await withModule(opts(dir), async (xems) => {
      for (let i = 0; i < 3; i++) await xems.createSession('xems.session', { n: i }, { userId: `u${i}` });
      for (let i = 0; i < 5; i++) await xems.from('otp').set(`code${i}`, i);
      // While the app runs, the vault is locked: verify refuses.
      const busy = cli(['vault', 'verify', '--path', dir, '--machine-id', 'machine-a'], { env: { XEMS_SECRET: secret } });
      assert.equal(busy.code, 1);
      assert.match(busy.stderr, /refused \(locked\): .*in use by another process/);
      // The fix for the CLI, not the one for a second app instance (audit B).
      assert.match(busy.stderr, /Fix: Stop the application that uses this vault first, or verify a copy of the directory/);
      assert.doesNotMatch(busy.stderr, /Give each instance its own persistence\.path/);
    });
    const before = hashes(dir);
    const viaEnv = cli(['vault', 'verify', '--path', dir, '--machine-id', 'machine-a'], { env: { XEMS_SECRET: secret } });
    assert.equal(viaEnv.code, 0, viaEnv.stderr);
    assert.match(viaEnv.stdout, /every block and entry checked, OK/);
    assert.match(viaEnv.stdout, /xems\.session\s+3\s+0/);
    assert.match(viaEnv.stdout, /otp\s+0\s+5/);
    assert.match(viaEnv.stdout, /8 live records/);
    const viaStdin = cli(['vault', 'verify', '--path', dir, '--machine-id', 'machine-a', '--json'], { input: `${secret}\n` });
    assert.equal(viaStdin.code, 0, viaStdin.stderr);
    const json = JSON.parse(viaStdin.stdout) as {
      ok: boolean;
      records: number;
      sandboxes: Record<string, { kv: number; sessions: number }>;
    };
    assert.deepEqual([json.ok, json.records, json.sandboxes.otp], [true, 8, { kv: 5, sessions: 0 }]);
    assert.equal(hashes(dir), before, 'verify changed nothing');
    assert.ok(!viaEnv.stdout.includes(secret.slice(7)) && !viaEnv.stderr.includes(secret.slice(7)), 'the secret is never printed');
  });

  it('verify refuses a wrong secret, another machine, a missing secret and secrets on the command line', () => {
    const wrong = cli(['vault', 'verify', '--path', dir, '--machine-id', 'machine-a'], {
      env: { XEMS_SECRET: `base64:${randomBytes(32).toString('base64')}` },
    });
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /refused \(wrong-secret\)/);
    assert.match(wrong.stderr, /Fix: persistence\.secret is not the secret/);
    const machine = cli(['vault', 'verify', '--path', dir, '--machine-id', 'machine-b'], { env: { XEMS_SECRET: secret } });
    assert.equal(machine.code, 1);
    assert.match(machine.stderr, /refused \(wrong-machine\)/);
    const none = cli(['vault', 'verify', '--path', dir, '--machine-id', 'machine-a']);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /No secret: set XEMS_SECRET/);
    const argv = cli(['vault', 'verify', '--path', dir, '--secret', secret]);
    assert.equal(argv.code, 2);
    assert.match(argv.stderr, /secrets never go on the command line/);
    assert.ok(!argv.stderr.includes(secret.slice(7)));
    const noPath = cli(['vault', 'verify'], { env: { XEMS_SECRET: secret } });
    assert.equal(noPath.code, 2);
    assert.match(noPath.stderr, /--path <dir> is required/);
  });

  it('rekey re-seals under a new secret and identity: the old ones stop working, the records stay', async () => {
    const newSecret = `base64:${randomBytes(32).toString('base64')}`;
    const weak = cli(['vault', 'rekey', '--path', dir, '--machine-id', 'machine-a'], {
      env: { XEMS_SECRET: secret, XEMS_NEW_SECRET: 'ab'.repeat(16) },
    });
    assert.equal(weak.code, 1);
    assert.match(weak.stderr, /new secret repeats a pattern of 2 characters/);
    const r = cli(['vault', 'rekey', '--path', dir, '--machine-id', 'machine-a', '--new-machine-id', 'machine-b'], {
      input: `${secret}\n${newSecret}\n`,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /re-sealed \(8 live records kept, 0 expired dropped\), bound to the new machine identity/);

    let refused: unknown;
    await withModule(opts(dir), async () => undefined).catch((err: unknown) => (refused = err));
    assert.ok(refused instanceof XemsVaultError && refused.kind === 'wrong-secret', String(refused));
    await withModule(opts(dir, newSecret, 'machine-b'), async (xems) => {
      assert.equal(await xems.from('otp').get('code4'), 4);
      assert.equal((await xems.listSessions('u1')).length, 1);
    });
  });
});
