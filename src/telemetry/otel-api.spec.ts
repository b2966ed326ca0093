import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { XemsConfigError } from '../xems.errors';
import { loadOtelApi } from './otel-api';

/** What require throws for a package that is not installed (Node's own message shape). */
function notFound(name: string): Error {
  return Object.assign(new Error(`Cannot find module '${name}'\nRequire stack:\n- /app/x.js`), { code: 'MODULE_NOT_FOUND' });
}

describe('loadOtelApi', () => {
  it('loads nothing when telemetry is off', () => {
    let asked = 0;
    assert.equal(
      loadOtelApi(false, () => {
        asked++;
        return {};
      }),
      undefined,
    );
    assert.equal(asked, 0);
  });

  it("'auto': the package when installed, undefined when it is not", () => {
    const api = { trace: {} };
    assert.equal(
      loadOtelApi('auto', () => api),
      api,
    );
    assert.equal(
      loadOtelApi('auto', (name) => {
        throw notFound(name);
      }),
      undefined,
    );
  });

  it('true without the package: a configuration error with the fix', () => {
    assert.throws(
      () =>
        loadOtelApi(true, (name) => {
          throw notFound(name);
        }),
      (err: unknown) =>
        err instanceof XemsConfigError && err.field === 'telemetry.enabled' && /npm install @opentelemetry\/api/.test(err.hint),
    );
  });

  it('a broken install (one of its own imports missing, or another failure) is reported even under auto', () => {
    for (const failure of [notFound('some-dependency-of-it'), new SyntaxError('Unexpected token')]) {
      assert.throws(
        () =>
          loadOtelApi('auto', () => {
            throw failure;
          }),
        (err: unknown) => err instanceof XemsConfigError && /could not be loaded/.test(err.message),
      );
    }
  });
});
