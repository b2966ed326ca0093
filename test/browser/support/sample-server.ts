import type { LoggerService } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { createSampleApp, listenSampleApp } from '../../../sample/src/sample.app';
import type { SampleConfig } from '../../../sample/src/sample.config';

/** Keeps every log line of the app (the one-time codes are logged) and prints warnings and errors. */
export class RecordingLogger implements LoggerService {
  readonly lines: string[] = [];

  private record(level: string, message: unknown, rest: unknown[]): void {
    const context = rest.length > 0 ? String(rest[rest.length - 1]) : '';
    const line = `${level} [${context}] ${String(message)}`;
    this.lines.push(line);
    if (level === 'error' || level === 'warn') process.stderr.write(`${line}\n`);
  }

  log(message: unknown, ...rest: unknown[]): void {
    this.record('log', message, rest);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.record('error', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.record('warn', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.record('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]): void {
    this.record('verbose', message, rest);
  }
}

export interface RunningSample {
  app: NestExpressApplication;
  url: string;
  logger: RecordingLogger;
}

/** The real sample app (real module, real sidecar) on a free port of 127.0.0.1. */
export async function startSample(overrides: Partial<SampleConfig> = {}): Promise<RunningSample> {
  const config: SampleConfig = {
    port: 0,
    host: '127.0.0.1',
    persist: false,
    persistPath: '',
    insecureCookies: false,
    ...overrides,
  };
  const logger = new RecordingLogger();
  const app = await createSampleApp(config, logger);
  try {
    const url = await listenSampleApp(app, config);
    return { app, url, logger };
  } catch (err) {
    await app.close();
    throw err;
  }
}
