import 'reflect-metadata';
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { XemsConfigError, XemsModule, type XemsModuleOptions, XemsVaultError } from '../src';
import { createTestApp } from './support/xems-test-app';

// Issue 12, smaller points, through the module and the real sidecar: persistence options
// without `enabled: true` are refused (they would be ignored: sessions in memory only, gone at
// the next restart), and a start the vault refuses leaves every file of the vault directory
// byte-identical, xems.lock included (persistence.e2e-spec.ts compares the vault files only).

const work = mkdtempSync(join(tmpdir(), 'xems-refusals-'));
after(() => rmSync(work, { recursive: true, force: true }));

const SECRET = `base64:${randomBytes(32).toString('base64')}`;
const OTHER_SECRET = `base64:${randomBytes(32).toString('base64')}`;

/** Starting the module fails: the error it fails with. */
async function startFails(options: XemsModuleOptions): Promise<unknown> {
  let ref;
  try {
    ref = await Test.createTestingModule({ imports: [XemsModule.forRoot(options)] })
      .setLogger(false as never)
      .compile();
    await ref.init();
  } catch (err) {
    await ref?.close().catch(() => undefined);
    return err;
  }
  await ref.close();
  assert.fail('the module started');
}

/** Every file of dir (the lock file included) with the SHA-256 of its bytes. */
function everyFile(dir: string): string {
  return readdirSync(dir)
    .sort()
    .map(
      (f) =>
        `${f} ${createHash('sha256')
          .update(readFileSync(join(dir, f)))
          .digest('hex')}`,
    )
    .join('\n');
}

function vaultOptions(path: string, secret = SECRET, id = 'machine-a'): XemsModuleOptions {
  return { persistence: { enabled: true, secret, path }, hardwareBinding: { id }, cookie: { secure: false } };
}

describe('persistence options without enabled: true', () => {
  it('path and/or secret without enabled are refused at start (XemsConfigError on persistence.enabled), no vault is created', async () => {
    const path = join(work, 'never-created');
    for (const persistence of [{ path }, { secret: SECRET }, { path, secret: SECRET }]) {
      const err = await startFails({ persistence } as XemsModuleOptions);
      assert.ok(err instanceof XemsConfigError, String(err));
      assert.equal(err.field, 'persistence.enabled');
      assert.match(err.hint, /enabled: true/);
      assert.ok(!String(err.message).includes(SECRET.slice(7)), 'the secret is not in the message');
      assert.equal(existsSync(path), false, 'no vault directory');
    }
  });
});

describe('a refused start leaves the vault directory byte-identical, xems.lock included', () => {
  for (const lockFile of ['kept by the last holder', 'absent (a copied vault)'] as const) {
    it(`wrong secret, other machine, with the lock file ${lockFile}`, async () => {
      const dir = join(work, `vault-${lockFile.split(' ')[0]}`);
      const app = await createTestApp(vaultOptions(dir));
      assert.equal((await request(app.server).post('/login').send({ user: 'vault' })).status, 200);
      await app.close();
      if (lockFile.startsWith('absent')) unlinkSync(join(dir, 'xems.lock'));
      assert.equal(existsSync(join(dir, 'xems.lock')), lockFile.startsWith('kept'));
      const before = everyFile(dir);

      const wrongSecret = await startFails(vaultOptions(dir, OTHER_SECRET));
      assert.ok(wrongSecret instanceof XemsVaultError && wrongSecret.kind === 'wrong-secret', String(wrongSecret));
      assert.equal(everyFile(dir), before, 'the wrong secret changed nothing');
      const otherMachine = await startFails(vaultOptions(dir, SECRET, 'machine-b'));
      assert.ok(otherMachine instanceof XemsVaultError && otherMachine.kind === 'wrong-machine', String(otherMachine));
      assert.equal(everyFile(dir), before, 'the other machine changed nothing');

      // The right secret still opens it.
      const again = await createTestApp(vaultOptions(dir));
      await again.close();
    });
  }
});
