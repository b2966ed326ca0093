import type { IncomingMessage } from 'node:http';

/** The client a request comes from, as Express reports it (`req.ip` honours `trust proxy`). */
export interface XemsClientInfo {
  ip: string;
  userAgent: string;
}

/**
 * The client of a request, for the binding check and the device list: Express's req.ip (which
 * honours 'trust proxy'), else the socket's peer; and the User-Agent header.
 */
export function requestClient(req: IncomingMessage): XemsClientInfo {
  const ip = (req as { ip?: unknown }).ip;
  const ua = req.headers['user-agent'];
  return {
    ip: typeof ip === 'string' ? ip : (req.socket?.remoteAddress ?? ''),
    userAgent: typeof ua === 'string' ? ua : '',
  };
}
