import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { SidecarLogger } from './sidecar-options';

const STDERR_TAIL_LINES = 20;
const MAX_LOG_LINE = 4096;

/**
 * The sidecar's stderr carries one JSON object per line; each becomes a Nest log line (context
 * XemsSidecar) at its level. The last lines are kept in `tail` to explain a failed start.
 */
export function forwardSidecarLogs(child: ChildProcess, logger: SidecarLogger, tail: string[]): void {
  if (!child.stderr) return;
  const lines = createInterface({ input: child.stderr, crlfDelay: Infinity });
  lines.on('line', (raw) => {
    const line = raw.length > MAX_LOG_LINE ? `${raw.slice(0, MAX_LOG_LINE)}...` : raw;
    tail.push(line);
    if (tail.length > STDERR_TAIL_LINES) tail.shift();
    forwardLogLine(logger, child.pid, line);
  });
  lines.on('error', () => undefined);
}

function forwardLogLine(logger: SidecarLogger, pid: number | undefined, line: string): void {
  let entry: Record<string, unknown> | undefined;
  try {
    const parsed: unknown = JSON.parse(line);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) entry = parsed as Record<string, unknown>;
  } catch {
    entry = undefined;
  }
  if (!entry) {
    logger.warn(`[pid ${pid}] ${line}`);
    return;
  }
  const { level, msg, time: _time, ...attrs } = entry;
  const extra = Object.keys(attrs).length ? ` ${JSON.stringify(attrs)}` : '';
  const text = `[pid ${pid}] ${String(msg ?? '')}${extra}`;
  switch (String(level ?? '').toUpperCase()) {
    case 'ERROR':
      logger.error(text);
      break;
    case 'WARN':
      logger.warn(text);
      break;
    case 'DEBUG':
      logger.debug?.(text);
      break;
    default:
      logger.log(text);
  }
}
