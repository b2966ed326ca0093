import type { XemsHttpRequest, XemsHttpResponse } from './platform/http-platform';
import type { XemsLinkOptions } from './session.types';
import type { XemsService } from './xems.service';

/**
 * What `expressHelpers: true` adds to every response of a Nest route, for code ported from
 * XEMS: `res.xLink(data, sandboxOrOptions)` is `xems.link(req, res, data, sandboxOrOptions)`
 * and `res.xUnlink()` is `xems.unlink(req, res)`. Type the response as
 * `Response & XemsResponseHelpers`.
 */
export interface XemsResponseHelpers {
  xLink(data: unknown, sandboxOrOptions?: string | XemsLinkOptions): Promise<string>;
  xUnlink(): Promise<void>;
}

/** Adds xLink / xUnlink to the response (SidecarOutageInterceptor calls it when the option is on). */
export function installExpressHelpers(xems: XemsService, req: XemsHttpRequest, res: XemsHttpResponse): void {
  const target = res as XemsHttpResponse & Partial<XemsResponseHelpers>;
  if (typeof target.xLink === 'function') return;
  Object.defineProperties(target, {
    xLink: {
      value: (data: unknown, sandboxOrOptions?: string | XemsLinkOptions) => xems.link(req, res, data, sandboxOrOptions),
      configurable: true,
    },
    xUnlink: { value: () => xems.unlink(req, res), configurable: true },
  });
}
