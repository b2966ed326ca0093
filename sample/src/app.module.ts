import { DynamicModule, Module, ValidationPipe } from '@nestjs/common';
import { APP_INTERCEPTOR, APP_PIPE } from '@nestjs/core';
import { XemsModule, type XemsModuleOptions } from '../../src';
import { AccountController } from './auth/account.controller';
import { AuthController } from './auth/auth.controller';
import { DevicesController } from './devices/devices.controller';
import { MetricsController } from './metrics/metrics.controller';
import { SampleMetrics } from './metrics/sample-metrics';
import { RotationHeader } from './rotation-header';
import type { SampleConfig } from './sample.config';
import { UsersService } from './users/users.service';

/** The module options the sample passes to XemsModule: the defaults, the two demo switches, and its metrics. */
export function sampleXemsOptions(config: SampleConfig, metrics?: SampleMetrics): XemsModuleOptions {
  const options: XemsModuleOptions = { ttl: '1h' };
  if (metrics) options.telemetry = { meterProvider: metrics.meterProvider };
  if (config.insecureCookies) options.cookie = { secure: false };
  // HTTPS: device-bound sessions (DBSC) on, with their defaults (a 10-minute bound cookie).
  if (config.tls) options.deviceBound = {};
  if (config.persist) {
    // The vault is bound to this machine (hardwareBinding defaults to true with persistence).
    options.persistence = { enabled: true, secret: config.secret, path: config.persistPath };
  }
  return options;
}

@Module({})
export class AppModule {
  static forRoot(config: SampleConfig): DynamicModule {
    const metrics = new SampleMetrics();
    return {
      module: AppModule,
      imports: [XemsModule.forRoot(sampleXemsOptions(config, metrics))],
      controllers: [AuthController, AccountController, DevicesController, MetricsController],
      providers: [
        UsersService,
        { provide: SampleMetrics, useValue: metrics },
        { provide: APP_INTERCEPTOR, useClass: RotationHeader },
        { provide: APP_PIPE, useValue: new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true }) },
      ],
    };
  }
}
