import { AsyncLocalStorage } from 'node:async_hooks';
import type { XemsHttpRequest } from './platform/http-platform';

/**
 * The request being handled, set by SidecarOutageInterceptor around the handler of a request
 * that holds a session when the `requestContext` option is on, so XemsService methods called
 * without a request (listSessions) know the current session. With `'auto'` it is turned
 * on only where it is cheap (asyncContextIsCheap).
 */
export const xemsRequestContext = new AsyncLocalStorage<XemsHttpRequest>();

/**
 * True when this Node builds AsyncLocalStorage on AsyncContextFrame (Node 24+ unless started
 * with `--no-async-context-frame`; Node 22-23 with `--experimental-async-context-frame`): a
 * run() then costs only itself. Otherwise it is built on async hooks, and its first run() turns
 * on promise hooks for the whole process, which every promise of every request then pays for
 * (about 40 promises per guarded request in a NestJS app; measured in bench/FINDINGS.md).
 */
export function asyncContextIsCheap(nodeVersion: string = process.versions.node, flags: readonly string[] = nodeFlags()): boolean {
  const major = Number(nodeVersion.split('.')[0]);
  if (major >= 24) return !flags.includes('--no-async-context-frame');
  return major >= 22 && flags.includes('--experimental-async-context-frame');
}

/** The flags this process was started with: its command line's and NODE_OPTIONS'. */
function nodeFlags(): string[] {
  return [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/).filter(Boolean)];
}
