import type { IncomingMessage } from 'node:http';
import { Injectable, Optional } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { XemsUnsupportedPlatformError } from '../xems.errors';
import { EXPRESS_PLATFORM } from './express-platform';
import { FASTIFY_PLATFORM } from './fastify-platform';
import type { HttpPlatform, XemsClientInfo } from './http-platform';

/** Every supported platform, by the name its Nest adapter reports (`getType()`). */
const PLATFORMS: Readonly<Record<string, HttpPlatform>> = { express: EXPRESS_PLATFORM, fastify: FASTIFY_PLATFORM };

/** The platform for a Nest HTTP adapter's type; an unknown one is refused. */
export function platformFor(adapterType: string): HttpPlatform {
  const platform = Object.prototype.hasOwnProperty.call(PLATFORMS, adapterType) ? PLATFORMS[adapterType] : undefined;
  if (!platform) throw new XemsUnsupportedPlatformError(adapterType);
  return platform;
}

/**
 * The HTTP platform the application runs on, chosen once at start from Nest's HTTP adapter
 * (HttpAdapterHost): no option. Without an HTTP adapter (an application context, a
 * microservice, createStandaloneXems) it stays Express's, the shape of a plain Node request.
 */
@Injectable()
export class HttpPlatformHost {
  private selected: HttpPlatform = EXPRESS_PLATFORM;

  constructor(@Optional() private readonly adapterHost?: HttpAdapterHost) {}

  /** The platform requests are read and answered with. */
  get platform(): HttpPlatform {
    return this.selected;
  }

  /** The client of a WebSocket upgrade request, as the platform reads it (HttpPlatform.upgradeClient). */
  upgradeClient(req: IncomingMessage): XemsClientInfo {
    return this.selected.upgradeClient(req, this.adapterHost?.httpAdapter?.getInstance());
  }

  /** Chooses the platform (XemsService.onModuleInit, before the sidecar starts): an unsupported adapter fails the start. */
  select(): HttpPlatform {
    const adapter = this.adapterHost?.httpAdapter;
    if (adapter) {
      const platform = platformFor(adapter.getType());
      platform.checkServer?.(adapter.getInstance());
      this.selected = platform;
    }
    return this.selected;
  }
}
