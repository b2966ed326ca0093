import assert from 'node:assert/strict';
import { type KeyObject, generateKeyPairSync, sign } from 'node:crypto';

// A DBSC client for the tests (device-bound sessions): a key from node:crypto, proofs as
// compact JWS (typ dbsc+jwt), the challenge headers a browser reads.

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

/** A DBSC device: a P-256 (ES256) or RSA-2048 (RS256) key that signs proofs (the browser's software key). */
export class Device {
  private readonly privateKey: KeyObject;
  readonly jwk: Record<string, unknown>;

  constructor(readonly alg: 'ES256' | 'RS256' = 'ES256') {
    const { privateKey, publicKey } =
      alg === 'ES256' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.privateKey = privateKey;
    const { kty, crv, x, y, n, e } = publicKey.export({ format: 'jwk' });
    this.jwk = alg === 'ES256' ? { kty, crv, x, y } : { kty, n, e };
  }

  proof(challenge: string, withKey: boolean): string {
    const header = { alg: this.alg, typ: 'dbsc+jwt', ...(withKey ? { jwk: this.jwk } : {}) };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify({ jti: challenge, iat: Math.floor(Date.now() / 1000) }))}`;
    // ES256: r||s (JWS), never DER; RS256: RSASSA-PKCS1-v1_5.
    const signature =
      this.alg === 'ES256'
        ? sign('sha256', Buffer.from(input), { key: this.privateKey, dsaEncoding: 'ieee-p1363' })
        : sign('sha256', Buffer.from(input), this.privateKey);
    return `${input}.${b64url(signature)}`;
  }
}

/** The challenge of a Secure-Session-Registration or Secure-Session-Challenge header. */
export function challengeOf(header: unknown, param: 'challenge' | 'first'): string {
  assert.equal(typeof header, 'string', 'the challenge header is present');
  const m =
    param === 'challenge'
      ? /;challenge="([A-Za-z0-9_-]{22})"/.exec(header as string)
      : /^"([A-Za-z0-9_-]{22})";id="/.exec(header as string);
  assert.ok(m, `a challenge in ${String(header)}`);
  return m[1];
}
