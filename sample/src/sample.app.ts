import type { LoggerService, LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { existsSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { AppModule } from './app.module';
import type { SampleConfig } from './sample.config';
import { securityHeaders } from './security-headers.middleware';

/** sample/public, found from the source tree (sample/src) or the compiled one (build/sample/src). */
export function publicDir(): string {
  const candidates = [join(__dirname, '..', 'public'), join(__dirname, '..', '..', '..', 'sample', 'public')];
  const found = candidates.find((dir) => existsSync(join(dir, 'index.html')));
  if (!found) throw new Error(`The sample's static page was not found (looked in ${candidates.join(', ')})`);
  return found;
}

/** Builds the sample application (not listening yet). Start-up errors are thrown, not exited on. */
export async function createSampleApp(config: SampleConfig, logger?: LoggerService | LogLevel[] | false): Promise<NestExpressApplication> {
  const httpsOptions = config.tls && { key: readFileSync(config.tls.key), cert: readFileSync(config.tls.cert) };
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), {
    abortOnError: false,
    ...(httpsOptions ? { httpsOptions } : {}),
    ...(logger === undefined ? {} : { logger }),
  });
  app.disable('x-powered-by');
  app.use(securityHeaders);
  app.useStaticAssets(publicDir(), { index: 'index.html' });
  return app;
}

/** Starts listening (this starts the sidecar too) and returns the page's URL. */
export async function listenSampleApp(app: NestExpressApplication, config: SampleConfig): Promise<string> {
  await app.listen(config.port, config.host);
  const { port } = app.getHttpServer().address() as AddressInfo;
  return `${config.tls ? 'https' : 'http'}://${config.host}:${port}`;
}
