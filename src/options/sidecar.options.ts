import type { XemsDuration } from '../duration.util';
import { OptionDuration, OptionInt, OptionString } from './option-rules';
import { NO_DEFAULT, type Resolved } from './resolved';

/** The sidecar process: where its binary is, and its time and load limits. */
export class XemsSidecarOptions {
  declare readonly [NO_DEFAULT]?: 'binaryPath';

  /** Path of the xems-sidecar binary. Default: `XEMS_SIDECAR_PATH`, else the binary inside the package. */
  @OptionString('Use the path of an xems-sidecar binary, or leave it out to use the one inside the package.')
  binaryPath?: string;

  /** Time allowed for the sidecar to start and complete the handshake. Default 5 s. */
  @OptionDuration(1, 600_000, "Use a duration up to 10 minutes, e.g. '5s'.")
  startTimeout?: XemsDuration = 5000;

  /** Time allowed for one request. Default 2 s. */
  @OptionDuration(1, 600_000, "Use a duration up to 10 minutes, e.g. '2s'.")
  requestTimeout?: XemsDuration = 2000;

  /** Time allowed for a graceful shutdown before SIGKILL. Default 3 s. */
  @OptionDuration(1, 600_000, "Use a duration up to 10 minutes, e.g. '3s'.")
  shutdownTimeout?: XemsDuration = 3000;

  /** Requests waiting for a reply at once; more fail fast with XemsOverloadedError. Default 10000. */
  @OptionInt(1, 1_000_000, 'Use an integer between 1 and 1000000.')
  maxInFlight?: number = 10_000;

  /** Restarts allowed within one minute after crashes. Default 10. */
  @OptionInt(0, 1000, 'Use an integer between 0 (never restart) and 1000.')
  maxRestarts?: number = 10;
}

export type ResolvedSidecarOptions = Resolved<XemsSidecarOptions>;
