import { Injectable } from '@nestjs/common';
import { SidecarApi } from './sidecar/sidecar-api';
import { SidecarProcess } from './sidecar/sidecar-process';
import { XemsError } from './xems.errors';

/** A health indicator result in @nestjs/terminus's shape: `{ [key]: { status, ...details } }`. */
export type XemsHealthResult<K extends string = string> = Record<K, { status: 'up' | 'down'; [detail: string]: unknown }>;

/**
 * Thrown by XemsHealthIndicator when the sidecar is down. It has the shape @nestjs/terminus
 * recognises (`isHealthCheckError` and `causes`), so a health check reports the indicator as
 * down (503) instead of failing, with terminus 10 and 11 alike, without this package
 * depending on terminus.
 */
export class XemsHealthCheckError extends XemsError {
  readonly isHealthCheckError = true;

  constructor(
    message: string,
    readonly causes: XemsHealthResult,
  ) {
    super('UNHEALTHY', message, 'Read the Xems and XemsSidecar log lines: the sidecar is restarting, or failed and will not be restarted.');
  }
}

/**
 * Health indicator for @nestjs/terminus (an optional peer dependency: nothing here imports it):
 *
 * ```ts
 * @Get('health') @HealthCheck()
 * check() { return this.health.check([() => this.xemsHealth.isHealthy('xems')]); }
 * ```
 *
 * `isHealthy(key)` pings the sidecar and returns `{ [key]: { status: 'up', pid, buildVersion,
 * latencyMs } }`, or throws XemsHealthCheckError whose `causes` is `{ [key]: { status: 'down',
 * message } }`.
 */
@Injectable()
export class XemsHealthIndicator {
  constructor(
    private readonly sidecar: SidecarProcess,
    private readonly api: SidecarApi,
  ) {}

  async isHealthy<K extends string = 'xems'>(key: K = 'xems' as K, options: { timeoutMs?: number } = {}): Promise<XemsHealthResult<K>> {
    const timeoutMs = options.timeoutMs ?? 1000;
    const sidecar = this.sidecar;
    const started = performance.now();
    let problem: string | undefined;
    if (sidecar.state !== 'running') {
      problem = `the sidecar is ${sidecar.state}`;
    } else {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          this.api.ping(),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`no answer to PING within ${timeoutMs} ms`)), timeoutMs);
          }),
        ]);
      } catch (err) {
        problem = err instanceof Error ? err.message : String(err);
      } finally {
        clearTimeout(timer);
      }
    }
    if (problem !== undefined) {
      const causes = { [key]: { status: 'down' as const, message: problem } } as unknown as XemsHealthResult<K>;
      throw new XemsHealthCheckError(`xems is unhealthy: ${problem}`, causes);
    }
    const latencyMs = Math.round((performance.now() - started) * 1000) / 1000;
    return {
      [key]: { status: 'up' as const, pid: sidecar.pid, buildVersion: sidecar.buildVersion, latencyMs },
    } as unknown as XemsHealthResult<K>;
  }
}
