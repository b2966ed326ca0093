import type { ValidationError, ValidatorOptions } from 'class-validator';
import { validateSync } from 'class-validator';
import { XemsError, XemsValidationError } from './xems.errors';

/** A class decorated with class-validator rules, used as the schema of session data or values. */
export type XemsSchema<T extends object = object> = new (...args: never[]) => T;

/** Typed data: `{ schema: UserSessionDto }`, optionally with class-validator options. */
export interface XemsSchemaOptions<T extends object = object> {
  schema: XemsSchema<T>;
  /** Passed to class-validator's validate (e.g. `{ whitelist: true, forbidNonWhitelisted: true }`). */
  validator?: ValidatorOptions;
}

interface ClassTransformer {
  plainToInstance(cls: unknown, plain: unknown, options?: object): unknown;
}

let transformer: ClassTransformer | undefined;

/**
 * class-transformer is an optional peer dependency: it is needed only for typed data (it builds
 * the schema instance, nested objects included, from the stored JSON), and most Nest apps that
 * validate DTOs already have it (ValidationPipe needs it too). Loaded on first use.
 */
function classTransformer(): ClassTransformer {
  if (!transformer) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      transformer = require('class-transformer') as ClassTransformer;
    } catch (err) {
      throw new XemsError(
        'MISSING_PEER_DEPENDENCY',
        'Typed session data (a `schema` option) needs the class-transformer package, which is not installed',
        'Install it: npm install class-transformer',
        { cause: err },
      );
    }
  }
  return transformer;
}

/** Property paths and constraint names of validation errors: never the values (no data in logs). */
export function describeProblems(errors: ValidationError[], prefix = ''): string[] {
  const out: string[] = [];
  for (const e of errors) {
    const path = prefix ? `${prefix}.${e.property}` : e.property;
    const names = Object.keys(e.constraints ?? {});
    if (names.length) out.push(`${path} (${names.join(', ')})`);
    out.push(...describeProblems(e.children ?? [], path));
  }
  return out;
}

export type SchemaCheck<T> = { ok: true; value: T } | { ok: false; problems: string[] };

/**
 * Validates plain data (as parsed from JSON) against a schema: builds the schema's instance with
 * class-transformer (which never copies `__proto__` or `constructor` keys, so data cannot
 * reach a prototype) and runs class-validator on it. Returns the instance.
 */
export function checkSchema<T extends object>(options: XemsSchemaOptions<T>, plain: unknown): SchemaCheck<T> {
  if (plain === null || typeof plain !== 'object' || Array.isArray(plain)) {
    return {
      ok: false,
      problems: [`(root) must be an object, got ${plain === null ? 'null' : Array.isArray(plain) ? 'an array' : typeof plain}`],
    };
  }
  const instance = classTransformer().plainToInstance(options.schema, plain) as T;
  const errors = validateSync(instance, { forbidUnknownValues: true, ...options.validator });
  if (errors.length) return { ok: false, problems: describeProblems(errors) };
  return { ok: true, value: instance };
}

/** Validates data before it is written; throws XemsValidationError naming the failing properties. */
export function assertSchema<T extends object>(options: XemsSchemaOptions<T> | undefined, data: unknown, what: string): void {
  if (!options) return;
  const checked = checkSchema(options, toPlain(data));
  if (!checked.ok) {
    throw new XemsValidationError(
      'INVALID_DATA',
      `The ${what} does not match ${options.schema.name}: ${checked.problems.join('; ')}`,
      `Fix the ${what} so that it satisfies the class-validator rules of ${options.schema.name}.`,
    );
  }
}

/** What JSON storage will give back for `data` (class instances become plain objects). */
function toPlain(data: unknown): unknown {
  const json = JSON.stringify(data);
  return json === undefined ? undefined : JSON.parse(json);
}
