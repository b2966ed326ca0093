/** What the report says about the machine and the software measured. */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';

export interface MachineInfo {
  cpu: string;
  cores: number;
  memory: string;
  os: string;
  kernel: string;
  loadAvg: string;
}

export function machineInfo(): MachineInfo {
  let osName = `${os.type()} ${os.release()}`;
  try {
    osName = /^PRETTY_NAME="?([^"\n]+)"?/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? osName;
  } catch {
    /* not Linux-like: keep os.type() */
  }
  return {
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: os.cpus().length,
    memory: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    os: osName,
    kernel: os.release(),
    loadAvg: os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' '),
  };
}

/** Version of an installed package, looked up the way Node resolves it from `fromDirs`. */
export function packageVersion(name: string, fromDirs: string[]): string {
  for (const dir of fromDirs) {
    const file = join(dir, 'node_modules', name, 'package.json');
    if (existsSync(file)) return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
  }
  return 'not installed';
}

export function commandVersion(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'not available';
  }
}

/**
 * The sidecar's own answer: its HELLO frame (protocol version and build version), read from a
 * short-lived child that exits when its stdin ends (docs/protocol.md).
 */
export function sidecarHello(binary: string): Promise<{ protocol: number; build: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, [], { stdio: ['pipe', 'pipe', 'ignore'] });
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('the sidecar sent no HELLO within 5 s'));
    }, 5000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.stdout.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      if (buf.length < 4 || buf.length < 4 + buf.readUInt32LE(0)) return;
      clearTimeout(timer);
      // payload: u32 id (0), u8 kind (0 HELLO), u16 protocolVersion, str buildVersion (u16 length + UTF-8)
      const protocol = buf.readUInt16LE(9);
      const len = buf.readUInt16LE(11);
      const build = buf.subarray(13, 13 + len).toString('utf8');
      child.stdin.end();
      resolve({ protocol, build });
    });
  });
}
