import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A throw-away CA trusted by a throw-away Chromium profile, and a certificate for 127.0.0.1 it signed. */
export interface TrustedTls {
  /** The HOME to give Chromium: its NSS database ($HOME/.pki/nssdb) trusts the CA. */
  home: string;
  key: Buffer;
  cert: Buffer;
  /** The CA certificate (for Node clients). */
  ca: Buffer;
}

function run(cmd: string, args: string[], cwd: string): void {
  try {
    execFileSync(cmd, args, { cwd, stdio: 'pipe' });
  } catch (err) {
    const e = err as { stderr?: Buffer; code?: string };
    if (e.code === 'ENOENT') {
      throw new Error(`${cmd} not found: the DBSC browser test needs it (apt-get install -y openssl libnss3-tools; .ci/run does this)`, {
        cause: err,
      });
    }
    throw new Error(`${cmd} ${args[0]} failed: ${e.stderr?.toString() ?? String(err)}`, { cause: err });
  }
}

/**
 * Chromium acts on DBSC headers only over TLS it trusts, even on 127.0.0.1, and
 * --ignore-certificate-errors is not enough: a CA of our own (openssl), added to a temporary
 * NSS database (certutil from libnss3-tools) in a temporary HOME, and a leaf for IP 127.0.0.1.
 */
export function trustedTls(): TrustedTls {
  const dir = mkdtempSync(join(tmpdir(), 'xems-dbsc-'));
  const home = join(dir, 'home');
  const nss = join(home, '.pki', 'nssdb');
  mkdirSync(nss, { recursive: true });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  run(
    'openssl',
    [
      'req',
      '-x509',
      ...ec,
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
      '-days',
      '2',
      '-subj',
      '/CN=xems DBSC test CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
  run('openssl', ['req', ...ec, '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', '/CN=127.0.0.1'], dir);
  writeFileSync(join(dir, 'leaf.ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n');
  run(
    'openssl',
    [
      'x509',
      '-req',
      '-in',
      'leaf.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'leaf.pem',
      '-days',
      '2',
      '-extfile',
      'leaf.ext',
    ],
    dir,
  );
  run('certutil', ['-d', `sql:${nss}`, '-N', '--empty-password'], dir);
  run('certutil', ['-d', `sql:${nss}`, '-A', '-t', 'C,,', '-n', 'xems-dbsc-ca', '-i', 'ca.pem'], dir);
  return {
    home,
    key: readFileSync(join(dir, 'leaf.key')),
    cert: readFileSync(join(dir, 'leaf.pem')),
    ca: readFileSync(join(dir, 'ca.pem')),
  };
}
