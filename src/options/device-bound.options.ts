import { Allow } from 'class-validator';
import type { XemsDuration } from '../duration.util';
import { XemsConfigError } from '../xems.errors';
import { OptionDuration, OptionString, describeValue } from './option-rules';
import type { Resolved } from './resolved';

// A URL path the module mounts: printable ASCII without ; , = space, ? or #.
const ENDPOINT_PATH = /^\/[!-"$-+\--:<>@-~]{0,200}$/;
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,128}$/;
const ALGORITHMS = ['ES256', 'RS256'] as const;

/** A signature algorithm a device may register its key with. */
export type XemsDeviceAlgorithm = (typeof ALGORITHMS)[number];

/**
 * Device-bound sessions (W3C DBSC): the browser keeps a private key on the device (TPM,
 * Secure Enclave) and proves possession to renew a short-lived bound cookie; the sidecar
 * refuses a bound session past its proof deadline, so a cookie copied off the device stops
 * working within `lifetime`. Browsers without DBSC keep today's behaviour.
 */
export class XemsDeviceBoundOptions {
  /** Where the browser registers its key (POST, same origin). Mounted by the module. Default `'/.well-known/xems/dbsc/register'`. */
  @OptionString("Use an absolute path such as '/.well-known/xems/dbsc/register'.", {
    pattern: ENDPOINT_PATH,
    problem: (v) => `${describeValue(v)} is not an absolute URL path (no ; , = space ? or #)`,
  })
  registrationPath?: string = '/.well-known/xems/dbsc/register';

  /** Where the browser refreshes the bound cookie (POST, same origin). Mounted by the module. Default `'/.well-known/xems/dbsc/refresh'`. */
  @OptionString("Use an absolute path such as '/.well-known/xems/dbsc/refresh'.", {
    pattern: ENDPOINT_PATH,
    problem: (v) => `${describeValue(v)} is not an absolute URL path (no ; , = space ? or #)`,
  })
  refreshPath?: string = '/.well-known/xems/dbsc/refresh';

  /**
   * Lifetime of the bound cookie, and so the longest a copied cookie keeps working after the
   * device's last proof. Default `'10m'`; 1 s to 1 day.
   */
  @OptionDuration(1000, 86_400_000, "Use a duration between 1 s and 1 day, e.g. '10m'.")
  lifetime?: XemsDuration = '10m';

  /** Name of the short-lived bound cookie the browser refreshes. Default `'xems_token_bound'`. */
  @OptionString("Use a cookie name such as 'xems_token_bound'.", {
    pattern: COOKIE_NAME,
    problem: (v) => `${describeValue(v)} is not a valid cookie name`,
  })
  cookieName?: string = 'xems_token_bound';

  /** The algorithms offered to the browser. Default `['ES256', 'RS256']` (never `none`). */
  // Checked by checkDeviceBound (a non-empty list of ES256 / RS256).
  @Allow()
  algorithms?: XemsDeviceAlgorithm[] = ['ES256', 'RS256'];
}

export type ResolvedDeviceBoundOptions = Resolved<XemsDeviceBoundOptions>;

/** The rules between the fields (each valid on its own by now) and with the cookie. */
export function checkDeviceBound(device: ResolvedDeviceBoundOptions, tokenCookie: string | undefined): void {
  const algs = device.algorithms as unknown;
  if (
    !Array.isArray(algs) ||
    algs.length === 0 ||
    algs.length > ALGORITHMS.length ||
    !algs.every((a) => ALGORITHMS.includes(a as XemsDeviceAlgorithm)) ||
    new Set(algs).size !== algs.length
  ) {
    throw new XemsConfigError(
      'deviceBound.algorithms',
      `${describeValue(algs)} is not a list of ES256 and/or RS256`,
      "Use ['ES256', 'RS256'] (default) or one of them; 'none' and other algorithms are never offered.",
    );
  }
  if (device.registrationPath === device.refreshPath) {
    throw new XemsConfigError('deviceBound.refreshPath', 'is the same as registrationPath', 'Give the two endpoints different paths.');
  }
  if (tokenCookie === undefined) {
    throw new XemsConfigError(
      'deviceBound',
      'needs the cookie transport (cookie: false)',
      'Keep the cookie on: DBSC binds browser cookies.',
    );
  }
  if (device.cookieName === tokenCookie) {
    throw new XemsConfigError('deviceBound.cookieName', "is the token cookie's name", "Use another name, e.g. 'xems_token_bound'.");
  }
}
