import { XEMS_STORE_DEFAULTS } from './express-session/xems-store';
import { DEFAULT_HARDWARE_BINDING } from './persistence/persistence.options';
import { REDIS_STORE_DEFAULTS } from './store/store.options';
import { XemsModuleOptions } from './xems.options';
import { optionDefaults } from './options/options-validation';
import type { Defaults } from './options/resolved';

/** XEMS_DEFAULTS: the module options' defaults, and those of the Redis store and XemsStore. */
export type XemsDefaults = Omit<Defaults<XemsModuleOptions>, 'store'> & {
  readonly hardwareBinding: typeof DEFAULT_HARDWARE_BINDING;
  readonly store: { readonly type: 'memory' } & typeof REDIS_STORE_DEFAULTS;
  readonly expressSession: typeof XEMS_STORE_DEFAULTS;
};

/**
 * Every default of the module as plain data, read from the options classes (where each default
 * is declared), plus the Redis store's and XemsStore's own defaults. For reading: the classes
 * are the source.
 */
export const XEMS_DEFAULTS: XemsDefaults = {
  ...(optionDefaults(XemsModuleOptions) as unknown as Defaults<XemsModuleOptions>),
  hardwareBinding: DEFAULT_HARDWARE_BINDING,
  store: { type: 'memory', ...REDIS_STORE_DEFAULTS },
  expressSession: XEMS_STORE_DEFAULTS,
};
