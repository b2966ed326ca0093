import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { hostName, plainHttpHost } from './secure-cookie.warning';

/** A Node request as far as plainHttpHost reads it. */
const req = (headers: Record<string, string>, encrypted = false) => ({ headers, socket: { encrypted } }) as unknown as IncomingMessage;

describe('plainHttpHost', () => {
  it('reads the host name of a Host header', () => {
    for (const [host, name] of [
      ['app.example:3000', 'app.example'],
      ['[::1]:3000', '[::1]'],
      ['[fd00::2]', '[fd00::2]'],
      [' app ', 'app'],
    ] as const) {
      assert.equal(hostName(host), name, host);
    }
    assert.equal(hostName(undefined), '');
  });

  it('names the host only for plain HTTP to a host that is not loopback', () => {
    const cases: [Record<string, string>, boolean, string | undefined][] = [
      [{ host: 'localhost:3000' }, false, undefined],
      [{ host: 'my.app.localhost' }, false, undefined],
      [{ host: '127.0.0.1' }, false, undefined],
      [{ host: '127.1.2.3:80' }, false, undefined],
      [{ host: '[::1]:80' }, false, undefined],
      [{}, false, undefined],
      [{ host: 'app.example' }, true, undefined], // TLS on the socket
      [{ host: 'app.example', 'x-forwarded-proto': 'https' }, false, undefined],
      [{ host: 'app.example', 'x-forwarded-proto': 'https, http' }, false, undefined],
      [{ host: 'app.example', forwarded: 'for=1.2.3.4;proto=https' }, false, undefined],
      [{ host: 'app.example', 'x-forwarded-proto': 'http' }, false, 'app.example'],
      [{ host: '192.0.2.2:3000' }, false, '192.0.2.2'],
      [{ host: 'localhost.example' }, false, 'localhost.example'],
      [{ host: '[fd00::2]:3000' }, false, '[fd00::2]'],
    ];
    for (const [headers, encrypted, want] of cases) assert.equal(plainHttpHost(req(headers, encrypted)), want, JSON.stringify(headers));
  });

  it('reads a Fastify request through its raw Node request', () => {
    const wrapped = { raw: req({ host: 'app.example' }, true), headers: { host: 'app.example' } };
    assert.equal(plainHttpHost(wrapped), undefined);
    assert.equal(plainHttpHost({ raw: req({ host: 'app.example' }), headers: { host: 'app.example' } }), 'app.example');
  });
});
