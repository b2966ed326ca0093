import type { NextFunction, Request, Response } from 'express';

/**
 * Headers a session demo should show off: the page may load scripts, styles and data only from
 * its own origin, cannot be framed, and leaks no referrer. With no inline script allowed, an
 * injected <script> cannot run, and the HttpOnly cookie keeps the token out of reach anyway.
 */
export function securityHeaders(_req: Request, res: Response, next: NextFunction): void {
  res.setHeader(
    'Content-Security-Policy',
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
      "frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  );
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('X-Frame-Options', 'DENY');
  next();
}
