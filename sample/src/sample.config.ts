import { join } from 'node:path';

/** Everything the sample reads from its command line and environment, in one place. */
export interface SampleConfig {
  /** TCP port on 127.0.0.1; 0 picks a free one (tests). */
  port: number;
  host: string;
  /** `--persist` or XEMS_PERSIST=1: keep sessions in an encrypted vault across restarts. */
  persist: boolean;
  /** The vault directory (XEMS_PERSIST_PATH). */
  persistPath: string;
  /** XEMS_SECRET: the vault secret (as printed by `npx nestjs-xems secret`); never logged. */
  secret?: string;
  /**
   * XEMS_INSECURE_COOKIES=1 drops the Secure flag of the session cookie. Off by default: browsers
   * accept Secure cookies from http://127.0.0.1 and http://localhost, so the demo does not need it.
   * It exists only for a demo reached over plain HTTP on another host name; never in production.
   */
  insecureCookies: boolean;
  /**
   * XEMS_TLS_KEY and XEMS_TLS_CERT (PEM files): serve HTTPS and turn device-bound sessions
   * (DBSC) on; browsers act on DBSC only over TLS they trust (README, "HTTPS and device binding").
   */
  tls?: { key: string; cert: string };
}

export const DEFAULT_PORT = 3000;
export const DEFAULT_HOST = '127.0.0.1';

function flag(value: string | undefined): boolean {
  return value !== undefined && /^(1|true|yes|on)$/i.test(value);
}

function port(value: string | undefined): number {
  if (value === undefined || value === '') return DEFAULT_PORT;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    throw new Error(`PORT must be an integer between 0 and 65535, got ${JSON.stringify(value)}`);
  }
  return n;
}

export function readSampleConfig(argv: readonly string[] = process.argv.slice(2), env: NodeJS.ProcessEnv = process.env): SampleConfig {
  for (const arg of argv) {
    if (arg !== '--persist') throw new Error(`Unknown argument ${JSON.stringify(arg)}. The sample accepts only --persist.`);
  }
  return {
    port: port(env.PORT),
    host: DEFAULT_HOST,
    persist: argv.includes('--persist') || flag(env.XEMS_PERSIST),
    persistPath: env.XEMS_PERSIST_PATH || join(process.cwd(), 'sample', '.data', 'vault'),
    secret: env.XEMS_SECRET || undefined,
    insecureCookies: flag(env.XEMS_INSECURE_COOKIES),
    tls: tlsFiles(env),
  };
}

/** XEMS_TLS_KEY and XEMS_TLS_CERT: both (HTTPS with device binding) or neither. */
function tlsFiles(env: NodeJS.ProcessEnv): SampleConfig['tls'] {
  const key = env.XEMS_TLS_KEY || undefined;
  const cert = env.XEMS_TLS_CERT || undefined;
  if (!key && !cert) return undefined;
  if (!key || !cert) throw new Error('Set both XEMS_TLS_KEY and XEMS_TLS_CERT (PEM files) for HTTPS, or neither.');
  return { key, cert };
}
