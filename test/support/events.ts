import type { XemsEvent, XemsService } from '../../src';

/**
 * The next event of `type` from the service, or a rejection after `timeoutMs`. The timer also
 * keeps the process alive meanwhile (a pending sidecar restart does not).
 */
export function nextEvent(xems: XemsService, type: XemsEvent['type'], timeoutMs = 15_000): Promise<XemsEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      sub.unsubscribe();
      reject(new Error(`no ${type} event within ${timeoutMs} ms`));
    }, timeoutMs);
    const sub = xems.events$.subscribe((event) => {
      if (event.type !== type) return;
      clearTimeout(timer);
      sub.unsubscribe();
      resolve(event);
    });
  });
}
