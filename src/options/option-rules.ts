import { IsOptional, ValidateIf, ValidateNested, registerDecorator } from 'class-validator';
import { parseDuration } from '../duration.util';

/**
 * The decorators an options class declares its rules with. Each puts one class-validator rule
 * on a property, with the message and the hint (how to fix it) that XemsConfigError reports, and
 * records what the resolver needs to know about the property (a duration, a nested options
 * class). A property left out (or null) keeps the class's default.
 */

type OptionsClass = abstract new () => object;

const durationProperties = new WeakMap<object, Set<string>>();
const nestedProperties = new WeakMap<object, Map<string, () => new () => object>>();

/** A value as an error message may show it (strings shortened; objects only by their type). */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) {
    return String(value);
  }
  return `a value of type ${Array.isArray(value) ? 'array' : typeof value}`;
}

export const DURATION_HINT = "Use a number of milliseconds or a string matching ^\\d+(ms|s|m|h|d)$, e.g. '30s' or '1h'.";

interface RuleOptions {
  /** Values accepted as they are besides the rule's own (e.g. `false` for "turned off"). */
  alsoAccepts?: readonly unknown[];
}

function rule(
  name: string,
  validate: (value: unknown) => boolean,
  problem: (value: unknown) => string,
  hintText: string,
  options: RuleOptions = {},
): PropertyDecorator {
  const alsoAccepts = options.alsoAccepts ?? [];
  return (target: object, property: string | symbol) => {
    IsOptional()(target, property);
    if (alsoAccepts.length > 0) ValidateIf((_o, v) => !alsoAccepts.includes(v))(target, property);
    registerDecorator({
      name,
      target: target.constructor,
      propertyName: property as string,
      options: { message: (args) => problem(args.value), context: { hint: hintText } },
      validator: { validate },
    });
  };
}

/** A string, optionally matching `pattern` (else `problem` says why). */
export function OptionString(
  hintText: string,
  check?: { pattern: RegExp; problem(value: string): string },
  options: RuleOptions & { what?: string } = {},
): PropertyDecorator {
  const what = options.what ?? 'a string';
  return rule(
    'isOptionString',
    (v) => typeof v === 'string' && (!check || check.pattern.test(v)),
    (v) => (typeof v !== 'string' ? `must be ${what}, got ${describeValue(v)}` : check!.problem(v)),
    hintText,
    options,
  );
}

export function OptionBoolean(hintText: string): PropertyDecorator {
  return rule(
    'isOptionBoolean',
    (v) => typeof v === 'boolean',
    (v) => `must be true or false, got ${describeValue(v)}`,
    hintText,
  );
}

/** One of `values` (the message lists them). */
export function OptionOneOf(values: readonly unknown[], hintText: string, problem?: string): PropertyDecorator {
  const listed = values.map((v) => (typeof v === 'string' ? `'${v}'` : String(v)));
  const choices = listed.length === 1 ? listed[0] : `${listed.slice(0, -1).join(', ')} or ${listed[listed.length - 1]}`;
  return rule(
    'isOptionOneOf',
    (v) => values.includes(v),
    (v) => problem ?? `must be ${choices}, got ${describeValue(v)}`,
    hintText,
  );
}

/** An integer within [min, max]. */
export function OptionInt(min: number, max: number, hintText: string): PropertyDecorator {
  return rule(
    'isOptionInt',
    (v) => Number.isInteger(v) && (v as number) >= min && (v as number) <= max,
    (v) =>
      !Number.isInteger(v)
        ? `must be an integer, got ${describeValue(v)}`
        : `must be at ${(v as number) < min ? `least ${min}` : `most ${max}`}, got ${describeValue(v)}`,
    hintText,
  );
}

/** A duration (number of ms or `<digits><unit>`) within [min, max] ms; resolved to milliseconds. */
export function OptionDuration(min: number, max: number, hintText: string, options: RuleOptions = {}): PropertyDecorator {
  const validate = rule(
    'isXemsDuration',
    (v) => {
      const ms = parseDuration(v);
      return ms !== undefined && ms >= min && ms <= max;
    },
    (v) => {
      const ms = parseDuration(v);
      if (ms === undefined) return `${describeValue(v)} is not a duration (a number of milliseconds, or a string like '30s')`;
      return `${describeValue(v)} is ${ms} ms, outside ${min}..${max} ms`;
    },
    `${hintText} ${DURATION_HINT}`,
    options,
  );
  return (target: object, property: string | symbol) => {
    validate(target, property);
    const set = durationProperties.get(target.constructor) ?? new Set<string>();
    set.add(property as string);
    durationProperties.set(target.constructor, set);
  };
}

/** An object validated by its own options class (`false` too, with alsoAccepts: [false]). */
export function NestedOptions(type: () => new () => object, options: RuleOptions = {}): PropertyDecorator {
  return (target: object, property: string | symbol) => {
    IsOptional()(target, property);
    if (options.alsoAccepts?.length) ValidateIf((_o, v) => !options.alsoAccepts!.includes(v))(target, property);
    ValidateNested()(target, property);
    const map = nestedProperties.get(target.constructor) ?? new Map<string, () => new () => object>();
    map.set(property as string, type);
    nestedProperties.set(target.constructor, map);
  };
}

/** The durations of an options class (resolved to milliseconds). */
export function durationPropertiesOf(type: OptionsClass): ReadonlySet<string> {
  return durationProperties.get(type) ?? new Set();
}

/** The options class of a nested property, if it is one. */
export function nestedTypeOf(type: OptionsClass, property: string): (new () => object) | undefined {
  return nestedProperties.get(type)?.get(property)?.();
}
