/** The benchmark's own redis-server from Debian: 127.0.0.1, a free port, no persistence. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { start, stop, type Managed } from './children';
import { freePort } from './ports';

function which(cmd: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Returns the path of redis-server, installing Debian's package first when it is missing. */
export function ensureRedisServer(log: (msg: string) => void): string {
  const found = which('redis-server');
  if (found) return found;
  if (process.getuid?.() !== 0) {
    throw new Error('redis-server is missing: install it with `apt-get install redis-server` (or run the bench as root)');
  }
  log('redis-server is missing: apt-get update && apt-get install -y redis-server');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'redis-server'], { stdio: 'inherit', env });
  const installed = which('redis-server');
  if (!installed) throw new Error('apt-get installed redis-server but it is not on PATH');
  // Debian starts its own service on install where systemd runs; the bench uses its own instance.
  try {
    execFileSync('sh', ['-c', 'command -v systemctl >/dev/null && systemctl stop redis-server'], { stdio: 'ignore' });
  } catch {
    /* no systemd here: nothing was started */
  }
  return installed;
}

export function redisVersion(bin: string): string {
  const out = execFileSync(bin, ['--version'], { encoding: 'utf8' });
  return /v=(\S+)/.exec(out)?.[1] ?? out.trim();
}

export interface RedisInstance {
  port: number;
  proc: Managed;
  stop(): Promise<void>;
}

export async function startRedis(bin: string, name = 'redis-server'): Promise<RedisInstance> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'xems-bench-redis-'));
  const proc = await start(
    name,
    bin,
    [
      '--bind',
      '127.0.0.1',
      '--port',
      String(port),
      '--protected-mode',
      'yes',
      '--save',
      '',
      '--appendonly',
      'no',
      '--daemonize',
      'no',
      '--dir',
      dir,
      '--logfile',
      '',
      '--loglevel',
      'notice',
    ],
    { ready: /Ready to accept connections/, readyTimeoutMs: 10000, stopBy: 'SIGTERM' },
  );
  return {
    port,
    proc,
    stop: async () => {
      await stop(proc);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
