import type { IncomingMessage, ServerResponse } from 'node:http';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { ResolvedCookieOptions } from '../options/cookie.options';
import type { ResolvedDeviceBoundOptions } from '../options/device-bound.options';
import { TokenTransport } from '../token-transport';
import { isSidecarUnavailable } from '../xems.errors';
import { XEMS_UNAVAILABLE_RETRY_AFTER_S } from '../xems.defaults';
import { XEMS_RESOLVED_OPTIONS } from '../xems.internal-constants';
import type { ResolvedXemsOptions } from '../xems.resolved-options';
import { boundCookie, challengeHeader, readProof, readSessionIdentifier, requestOrigin, sessionInstructions } from './dbsc.headers';
import { type DeviceProofOutcome, DeviceSessions } from './device-sessions';

/** `{"continue": false}`: the browser ends its bound session (the session here is over). */
const STOP = { continue: false };

/**
 * The two DBSC endpoints the module serves (no controller for the application to write), on
 * Node's own request and response, so any HTTP platform can mount them (DbscMount: Express):
 *
 * - registration (POST, the login's cookies, `Secure-Session-Response` with the device key): the
 *   sidecar verifies the proof and binds the key; 200 with the session instructions and the
 *   bound cookie.
 * - refresh (POST, `Sec-Secure-Session-Id`): without a proof 403 and a new
 *   `Secure-Session-Challenge`; with a proof signed by the session's key 200, a fresh bound
 *   cookie and the instructions; for a session that is over `{"continue": false}`.
 *
 * The session is the one the request's token cookie names (default sandbox). Every answer is
 * `no-store` and may not be framed; a cross-site request is refused without effect. Sidecar
 * outages answer 503 (the browser backs off), never 4xx (which would end its bound session).
 */
@Injectable()
export class DbscEndpoints {
  private readonly logger = new Logger('Xems');

  constructor(
    @Inject(XEMS_RESOLVED_OPTIONS) private readonly options: ResolvedXemsOptions,
    private readonly transport: TokenTransport,
    private readonly devices: DeviceSessions,
  ) {}

  /** Serves the request if it is for one of the endpoints (true), else leaves it alone (false). */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    const device = this.options.deviceBound;
    if (!device) return false;
    const path = (req.url ?? '').split('?', 1)[0];
    if (path !== device.registrationPath && path !== device.refreshPath) return false;
    const serve = path === device.registrationPath ? this.register(req, res, device) : this.refresh(req, res, device);
    serve.catch((error: unknown) => this.failed(res, error));
    return true;
  }

  private async register(req: IncomingMessage, res: ServerResponse, device: ResolvedDeviceBoundOptions): Promise<void> {
    if (!this.admissible(req, res)) return;
    const sandbox = this.options.sandbox;
    const token = this.token(req);
    const proof = readProof(req);
    if (!token || !proof) {
      this.devices.refused(sandbox, undefined, token ? 'NO_PROOF' : 'NO_SESSION');
      return this.send(res, 400, STOP);
    }
    const outcome = await this.devices.register(sandbox, token, proof);
    if (outcome.kind !== 'ok') return this.send(res, 400, STOP); // registration fails; the session works unbound
    this.bound(req, res, device, outcome, outcome.result.sessionId);
  }

  private async refresh(req: IncomingMessage, res: ServerResponse, device: ResolvedDeviceBoundOptions): Promise<void> {
    if (!this.admissible(req, res)) return;
    const sandbox = this.options.sandbox;
    const named = readSessionIdentifier(req);
    const token = this.token(req);
    if (!named || !token) {
      this.devices.refused(sandbox, named, 'NO_SESSION');
      return this.send(res, 200, STOP);
    }
    const proof = readProof(req);
    const outcome = proof ? await this.devices.refresh(sandbox, token, proof, named) : undefined;
    if (outcome?.kind === 'ok') return this.bound(req, res, device, outcome, named);
    if (outcome?.kind === 'ended' || (outcome?.kind === 'refused' && outcome.error.code !== 'DEVICE_PROOF_REFUSED')) {
      return this.send(res, 200, STOP);
    }
    // No proof yet, or a proof that did not verify (a used or stale challenge, another key):
    // a new challenge; the browser signs it with its key and comes back.
    const next = await this.devices.challenge(sandbox, token);
    if (!next || !next.bound) {
      this.devices.refused(sandbox, named, next ? 'DEVICE_NOT_BOUND' : 'ENDED');
      return this.send(res, 200, STOP);
    }
    res.setHeader('Secure-Session-Challenge', challengeHeader(next.challenge, named));
    this.send(res, 403);
  }

  /** A verified proof: the bound cookie, and the session instructions. */
  private bound(
    req: IncomingMessage,
    res: ServerResponse,
    device: ResolvedDeviceBoundOptions,
    outcome: DeviceProofOutcome,
    id: string,
  ): void {
    if (outcome.kind !== 'ok') return;
    const cookie = this.options.cookie as ResolvedCookieOptions; // checkDeviceBound: the cookie is on
    res.setHeader('Set-Cookie', boundCookie(device, cookie, outcome.result.deadline));
    this.send(res, 200, sessionInstructions(device, cookie, id, requestOrigin(req)));
  }

  /** POST only, and never cross-site (the browser refreshes same-site only; anything else is forged). */
  private admissible(req: IncomingMessage, res: ServerResponse): boolean {
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-Frame-Options', 'DENY');
    res.setHeader('Content-Security-Policy', "frame-ancestors 'none'");
    if (req.method !== 'POST') {
      res.setHeader('Allow', 'POST');
      this.send(res, 405);
      return false;
    }
    if (req.headers['sec-fetch-site'] === 'cross-site') {
      this.devices.refused(this.options.sandbox, undefined, 'CROSS_SITE');
      this.send(res, 403, STOP);
      return false;
    }
    return true;
  }

  /** The token the request's cookie carries (the endpoints are for browsers: cookie only). */
  private token(req: IncomingMessage): string | undefined {
    const lookup = this.transport.read(req);
    return lookup.kind === 'token' && lookup.via === 'cookie' ? lookup.token : undefined;
  }

  private send(res: ServerResponse, status: number, body?: unknown): void {
    if (res.headersSent) return void res.end();
    res.statusCode = status;
    if (body === undefined) return void res.end();
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify(body));
  }

  /** A sidecar outage is 503 (the browser backs off and retries); anything else a bare 500, logged without request content. */
  private failed(res: ServerResponse, error: unknown): void {
    if (isSidecarUnavailable(error)) {
      if (!res.headersSent) res.setHeader('Retry-After', String(XEMS_UNAVAILABLE_RETRY_AFTER_S));
      return this.send(res, 503);
    }
    this.logger.error(`DBSC endpoint failed: ${error instanceof Error ? error.name : 'error'}`);
    this.send(res, 500);
  }
}
