import { IsArray, IsOptional, IsString } from 'class-validator';
import { XemsConfigError } from '../xems.errors';
import { OptionString, describeValue } from './option-rules';
import { NO_DEFAULT, type Resolved } from './resolved';

export const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,128}$/;
const ORIGINS_HINT = "Use e.g. ['https://app.example.com'].";

/** CsrfGuard's header, body field and allowed origins. */
export class XemsCsrfOptions {
  declare readonly [NO_DEFAULT]?: 'origins';

  /** Request header carrying the CSRF token. Default `'x-csrf-token'`. */
  @OptionString("Use letters, digits and dashes, e.g. 'x-csrf-token'.", {
    pattern: HEADER_NAME,
    problem: (v) => `${describeValue(v)} is not a valid HTTP header name`,
  })
  header?: string = 'x-csrf-token';

  /** Body field carrying the CSRF token (HTML forms). Default `'_csrf'`. */
  @OptionString("Use a form field name such as '_csrf'.", { pattern: /^[\s\S]{1,128}$/, problem: () => 'must be 1-128 characters' })
  field?: string = '_csrf';

  /**
   * When set, unsafe requests must also come from one of these origins (`Origin` header, or
   * `Referer` when a browser sent no `Origin`), e.g. `['https://app.example.com']`.
   */
  @IsOptional()
  @IsArray({ message: (a) => `must be an array of origins, got ${describeValue(a.value)}`, context: { hint: ORIGINS_HINT } })
  @IsString({ each: true, message: 'must contain only strings', context: { hint: ORIGINS_HINT } })
  origins?: string[];
}

export type ResolvedCsrfOptions = Resolved<XemsCsrfOptions>;

/** The header lower-cased (as Node reports it) and the origins normalised to scheme://host[:port]. */
export function resolveCsrf(csrf: ResolvedCsrfOptions): ResolvedCsrfOptions {
  return { header: csrf.header.toLowerCase(), field: csrf.field, origins: csrf.origins && normaliseOrigins(csrf.origins) };
}

function normaliseOrigins(origins: string[]): string[] {
  if (origins.length === 0) {
    throw new XemsConfigError(
      'csrf.origins',
      'is empty: no request could pass',
      "List the origins your pages are served from, e.g. ['https://app.example.com'], or leave the option out.",
    );
  }
  return origins.map((o, i) => {
    let url: URL | undefined;
    try {
      url = new URL(o);
    } catch {
      url = undefined;
    }
    if (
      !url ||
      (url.protocol !== 'https:' && url.protocol !== 'http:') ||
      url.pathname !== '/' ||
      url.search ||
      url.hash ||
      url.username ||
      !/^https?:\/\/[^/]+\/?$/i.test(o)
    ) {
      throw new XemsConfigError(
        `csrf.origins[${i}]`,
        `${describeValue(o)} is not an origin (scheme://host[:port], no path)`,
        "Use e.g. 'https://app.example.com'.",
      );
    }
    return url.origin;
  });
}
