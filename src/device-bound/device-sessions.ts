import type { ServerResponse } from 'node:http';
import { Inject, Injectable } from '@nestjs/common';
import type { ResolvedDeviceBoundOptions } from '../options/device-bound.options';
import { type DeviceProofResult, SidecarApi } from '../sidecar/sidecar-api';
import { DeviceAlgs } from '../sidecar/stdio-protocol.gen';
import { XemsDeviceProofError } from '../xems.errors';
import { XemsEvents } from '../xems.events';
import { XEMS_RESOLVED_OPTIONS } from '../xems.internal-constants';
import { registrationHeader } from './dbsc.headers';
import type { ResolvedXemsOptions } from '../xems.resolved-options';

/** What a device proof came to: verified, refused by the rule, or the session is gone. */
export type DeviceProofOutcome =
  { kind: 'ok'; result: DeviceProofResult } | { kind: 'refused'; error: XemsDeviceProofError } | { kind: 'ended' };

/**
 * The device-binding operations (DBSC) over the sidecar, where the rule lives: challenges,
 * registration, refresh, each emitting its `session.device-*` event (public session ids only:
 * never a key, a proof or a token).
 */
@Injectable()
export class DeviceSessions {
  constructor(
    @Inject(XEMS_RESOLVED_OPTIONS) private readonly options: ResolvedXemsOptions,
    private readonly api: SidecarApi,
    private readonly events: XemsEvents,
  ) {}

  private get device(): ResolvedDeviceBoundOptions {
    if (!this.options.deviceBound) throw new Error('deviceBound is off');
    return this.options.deviceBound;
  }

  /** A new challenge for the session of `token`; null when the token is dead. */
  challenge(sandbox: string, token: string): Promise<{ challenge: string; sessionId: string; bound: boolean } | null> {
    return this.api.deviceChallenge(sandbox, token, this.options.gracePeriod);
  }

  register(sandbox: string, token: string, proof: string): Promise<DeviceProofOutcome> {
    const algs = this.device.algorithms.reduce((bits, a) => bits | DeviceAlgs[a], 0);
    return this.settle(sandbox, undefined, 'session.device-registered', () =>
      this.api.deviceRegister(sandbox, token, this.options.gracePeriod, proof, algs, this.device.lifetime),
    );
  }

  /** `named`: the session identifier the browser sent (for the refusal event). */
  refresh(sandbox: string, token: string, proof: string, named?: string): Promise<DeviceProofOutcome> {
    return this.settle(sandbox, named, 'session.device-refreshed', () =>
      this.api.deviceRefresh(sandbox, token, this.options.gracePeriod, proof, this.device.lifetime),
    );
  }

  /**
   * link(): offers device binding to the browser (`Secure-Session-Registration`) on the login
   * response, for sessions of the default sandbox (the endpoints serve that one).
   */
  async offer(res: ServerResponse, sandbox: string, token: string): Promise<void> {
    const device = this.options.deviceBound;
    if (!device || sandbox !== this.options.sandbox) return;
    const offered = await this.challenge(sandbox, token);
    if (offered && !res.headersSent) res.setHeader('Secure-Session-Registration', registrationHeader(device, offered.challenge));
  }

  /** A refusal the module decided itself (no proof, an ended session): its event. */
  refused(sandbox: string, sessionId: string | undefined, reason: string): void {
    this.events.emit({ type: 'session.device-refused', sandbox, sessionId, reason });
  }

  private async settle(
    sandbox: string,
    named: string | undefined,
    type: 'session.device-registered' | 'session.device-refreshed',
    call: () => Promise<DeviceProofResult | null>,
  ): Promise<DeviceProofOutcome> {
    try {
      const result = await call();
      if (!result) {
        this.refused(sandbox, named, 'ENDED');
        return { kind: 'ended' };
      }
      this.events.emit({ type, sandbox, sessionId: result.sessionId });
      return { kind: 'ok', result };
    } catch (error) {
      if (!(error instanceof XemsDeviceProofError)) throw error;
      this.refused(sandbox, named, error.code);
      return { kind: 'refused', error };
    }
  }
}
