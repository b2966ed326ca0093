import type * as OtelApi from '@opentelemetry/api';
import { XemsConfigError } from '../xems.errors';

/** `@opentelemetry/api` as the module uses it (types only: nothing is imported at run time here). */
export type OtelApiModule = typeof OtelApi;

export const OTEL_API_PACKAGE = '@opentelemetry/api';

/** True for the error `require` throws when `name` itself is not installed (not one of its own imports). */
function isMissing(err: unknown, name: string): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  return e?.code === 'MODULE_NOT_FOUND' && typeof e.message === 'string' && e.message.includes(`'${name}'`);
}

/**
 * Loads `@opentelemetry/api` when telemetry may be on: `'auto'` gives undefined when the
 * package is not installed, `true` makes that a configuration error; any other failure to load
 * it (a broken install) is reported, not hidden. `false` loads nothing.
 */
export function loadOtelApi(enabled: 'auto' | boolean, load: (name: string) => unknown = require): OtelApiModule | undefined {
  if (enabled === false) return undefined;
  try {
    return load(OTEL_API_PACKAGE) as OtelApiModule;
  } catch (err) {
    if (enabled === 'auto' && isMissing(err, OTEL_API_PACKAGE)) return undefined;
    if (isMissing(err, OTEL_API_PACKAGE)) {
      throw new XemsConfigError(
        'telemetry.enabled',
        `is true but ${OTEL_API_PACKAGE} is not installed`,
        `Install it (npm install ${OTEL_API_PACKAGE}) with an OpenTelemetry SDK, or use enabled: 'auto' (on when installed) or false.`,
      );
    }
    throw new XemsConfigError(
      'telemetry.enabled',
      `${OTEL_API_PACKAGE} could not be loaded: ${err instanceof Error ? err.message : String(err)}`,
      `Reinstall ${OTEL_API_PACKAGE}, or use telemetry: { enabled: false }.`,
    );
  }
}
