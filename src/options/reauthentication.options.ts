import { type XemsAssuranceLevel, ASSURANCE_CEILINGS } from '../auth-freshness';
import type { XemsDuration } from '../duration.util';
import { OptionDuration, OptionOneOf } from './option-rules';
import { NO_DEFAULT, type Resolved } from './resolved';

const THIRTY_DAYS_MS = 30 * 24 * 3_600_000;

/**
 * Reauthentication ceilings (NIST SP 800-63B-4 Sec. 2.1.3, 2.2.3, 2.3.3): a session whose
 * user last authenticated (link, reauthenticated) longer than `maxAge` ago is ended (reason
 * 'reauthentication') at its next request, and `assuranceLevel` presets `maxAge` and the
 * module's `idleTimeout` to that level's numbers (docs/security-model.md). Options given
 * explicitly win over the preset. Off by default.
 */
export class XemsReauthenticationOptions {
  declare readonly [NO_DEFAULT]?: 'assuranceLevel' | 'maxAge';

  /** 'AAL1' (30 days, no idle timeout), 'AAL2' (24 h, idle 1 h) or 'AAL3' (12 h, idle 15 min). */
  @OptionOneOf(['AAL1', 'AAL2', 'AAL3'], "Use 'AAL1', 'AAL2' or 'AAL3' (NIST SP 800-63B-4 authentication assurance levels).")
  assuranceLevel?: XemsAssuranceLevel;

  /** The longest time since the last authentication a session may be used for, e.g. '12h'. */
  @OptionDuration(1, THIRTY_DAYS_MS, "Use a duration up to 30 days, e.g. '12h'.")
  maxAge?: XemsDuration;
}

export type ResolvedReauthenticationOptions = Resolved<XemsReauthenticationOptions>;

/** The ceilings in effect: maxAgeMs (0 = none) and the idle timeout the preset gives (undefined: none given). */
export function resolveReauthentication(r: ResolvedReauthenticationOptions): { maxAgeMs: number; presetIdleMs?: number } {
  const preset = r.assuranceLevel ? ASSURANCE_CEILINGS[r.assuranceLevel] : undefined;
  return { maxAgeMs: r.maxAge ?? preset?.maxAgeMs ?? 0, presetIdleMs: preset?.idleMs };
}
