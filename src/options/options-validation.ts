import { type ValidationError, validateSync } from 'class-validator';
import { parseDuration } from '../duration.util';
import { XemsConfigError } from '../xems.errors';
import { describeValue, durationPropertiesOf, nestedTypeOf } from './option-rules';
import type { Resolved } from './resolved';

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * An instance of `type` holding its defaults, overridden by what `given` sets (undefined and
 * null keep the default). A nested options object becomes an instance of its class (class-validator
 * validates only those; we build them ourselves, no class-transformer at run time); a non-object
 * stays as given so that validation reports it.
 */
function withDefaults<T extends object>(type: new () => T, given: Record<string, unknown>): T {
  const options = new type() as Record<string, unknown>;
  for (const [key, value] of Object.entries(given)) {
    if (value === undefined || value === null) continue;
    if (key === '__proto__')
      throw new XemsConfigError(key, 'is not a known option', "Remove it; known options are listed in the README's option table.");
    const nested = nestedTypeOf(type, key);
    // defineProperty: a key such as "__proto__" stays a plain (and refused) property.
    Object.defineProperty(options, key, {
      value: nested && isPlainObject(value) ? withDefaults(nested, value) : value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return options as T;
}

function firstError(errors: ValidationError[], prefix = ''): { field: string; problem: string; hint: string } | undefined {
  for (const error of errors) {
    const field = prefix ? `${prefix}.${error.property}` : error.property;
    const constraints = error.constraints ?? {};
    const name = Object.keys(constraints)[0];
    if (name === 'whitelistValidation' && field === 'isGlobal') {
      // The README's option table lists isGlobal, but as an extra of forRoot()/forRootAsync():
      // returned by a factory it comes too late to register the module globally.
      return {
        field,
        problem: 'belongs to XemsModule.forRoot() / forRootAsync() themselves, not to the options a factory returns',
        hint: 'Move it next to the factory: XemsModule.forRootAsync({ isGlobal: true, useFactory: ... }).',
      };
    }
    if (name === 'whitelistValidation') {
      return {
        field,
        problem: 'is not a known option',
        hint: "Remove it or fix its spelling; known options are listed in the README's option table.",
      };
    }
    if (name === 'nestedValidation') {
      return {
        field,
        problem: `must be an object, got ${describeValue(error.value)}`,
        hint: 'Pass an object (or leave the option out to use the defaults).',
      };
    }
    if (name !== undefined) {
      const hint = (error.contexts?.[name] as { hint?: string } | undefined)?.hint;
      return { field, problem: constraints[name], hint: hint ?? 'See the README option table.' };
    }
    const nested = firstError(error.children ?? [], field);
    if (nested) return nested;
  }
  return undefined;
}

/**
 * The options `given` for options class `type`, with the class's defaults, validated by the
 * class's rules. Throws XemsConfigError naming the first invalid field, its problem and the fix.
 */
export function validateOptions<T extends object>(type: new () => T, given: unknown): T {
  if (!isPlainObject(given)) {
    throw new XemsConfigError(
      '(options)',
      `must be an object, got ${describeValue(given)}`,
      'Pass an options object to XemsModule.forRoot() (or return one from the useFactory / createXemsOptions() of forRootAsync()), or nothing for the defaults.',
    );
  }
  const options = withDefaults(type, given);
  const first = firstError(validateSync(options, { whitelist: true, forbidNonWhitelisted: true }));
  if (first) throw new XemsConfigError(first.field, first.problem, first.hint);
  return options;
}

function plainCopy(type: new () => object, options: object, durationsToMs: boolean): Record<string, unknown> {
  const durations = durationPropertiesOf(type);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) {
    const nested = nestedTypeOf(type, key);
    if (nested && value instanceof nested) out[key] = plainCopy(nested, value, durationsToMs);
    else out[key] = durationsToMs && durations.has(key) && typeof value !== 'boolean' ? parseDuration(value) : value;
  }
  return out;
}

/** Validated options as plain data: nested options resolved the same way, every duration in milliseconds. */
export function resolvedOptions<T extends object>(type: new () => T, options: T): Resolved<T> {
  return plainCopy(type, options, true) as Resolved<T>;
}

/** The defaults of an options class as plain data, as written (durations as given). */
export function optionDefaults<T extends object>(type: new () => T): T {
  return plainCopy(type, new type(), false) as T;
}
