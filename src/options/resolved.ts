import type { XemsDurationString } from '../duration.util';

/**
 * Names, in an options class, the properties that have no default:
 * `declare readonly [NO_DEFAULT]?: 'domain'`. They stay optional once resolved; every other
 * property is always present. (A type-level mark: it emits nothing.)
 */
export declare const NO_DEFAULT: unique symbol;

type NoDefaultKeys<T> = T extends { readonly [NO_DEFAULT]?: infer K } ? Extract<K, keyof T> : never;

/**
 * The options of class `T` once resolved: every default applied, every duration in
 * milliseconds, nested options classes resolved the same way. Derived from the class, so an
 * option is declared once (its type, default, rule and documentation live in the class).
 */
export type Resolved<T> = {
  [K in keyof T as K extends typeof NO_DEFAULT | NoDefaultKeys<T> ? never : K]-?: ResolvedValue<T[K]>;
} & {
  [K in keyof T as K extends NoDefaultKeys<T> ? K : never]?: ResolvedValue<T[K]>;
};

/** A duration becomes its milliseconds; a nested options object its resolved form; anything else stays. */
export type ResolvedValue<V> = V extends XemsDurationString
  ? number
  : V extends Buffer | readonly unknown[] | ((...args: never[]) => unknown)
    ? V
    : V extends object
      ? Resolved<V>
      : V;

/**
 * The defaults of options class `T` as plain data: every option that has a default, as
 * written (durations not converted); an option that may be an options object or `false` has
 * the object as its default.
 */
export type Defaults<T> = {
  readonly [K in keyof T as K extends typeof NO_DEFAULT | NoDefaultKeys<T> ? never : K]-?: DefaultValue<T[K]>;
};

type DefaultValue<V> = [Extract<V, object>] extends [never]
  ? V
  : Extract<V, object> extends Buffer | readonly unknown[] | ((...args: never[]) => unknown)
    ? V
    : Defaults<Extract<V, object>>;
