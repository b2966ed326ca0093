import assert from 'node:assert/strict';
import type { XemsModuleOptions } from '../../src/xems.options';
import { type ResolveOptionsHooks, resolveXemsOptions } from '../../src/xems.resolved-options';
import { XemsConfigError } from '../../src/xems.errors';

/** Asserts that the options are refused with an XemsConfigError naming `field` (and matching `problem`), with a hint; returns it. */
export function refusesOptions(options: unknown, field: string, problem?: RegExp, hooks?: ResolveOptionsHooks): XemsConfigError {
  let caught: unknown;
  try {
    resolveXemsOptions(options as XemsModuleOptions, hooks);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof XemsConfigError, `expected XemsConfigError for ${JSON.stringify(options)}, got ${String(caught)}`);
  assert.equal(caught.field, field);
  assert.equal(caught.code, 'INVALID_OPTION');
  assert.ok(caught.hint.length > 10, 'a hint says how to fix it');
  assert.match(caught.message, new RegExp(`"${field.replace(/[.()[\]]/g, '\\$&')}"`));
  if (problem) assert.match(caught.message, problem);
  return caught;
}
