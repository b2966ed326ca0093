// A tiny Nest application used by the fault tests as a child process:
//   node parent-app.js hold   starts XemsModule, prints its pids, and stays alive
//   node parent-app.js idle   starts XemsModule, prints its pids, and does nothing more
// The "idle" run must exit on its own: an idle sidecar never keeps Node alive.
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { XemsModule, XemsService } from '../../src';

@Module({ imports: [XemsModule.forRoot({})] })
class ParentAppModule {}

async function main(): Promise<void> {
  const mode = process.argv[2] ?? 'hold';
  const app = await NestFactory.createApplicationContext(ParentAppModule, { logger: false });
  const xems = app.get(XemsService);
  await xems.from('parent').set('k', { ok: true });
  const ok = (await xems.from('parent').get<{ ok: boolean }>('k'))?.ok === true;
  process.stdout.write(`${JSON.stringify({ pid: process.pid, sidecarPid: xems.sidecar.pid, ok })}\n`);
  if (mode === 'hold') setInterval(() => undefined, 60_000);
}

main().catch((err) => {
  process.stderr.write(`parent-app failed: ${String(err)}\n`);
  process.exit(2);
});
