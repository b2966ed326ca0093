/**
 * The library as users get it: built output loaded from the repo (XEMS_BENCH_LIB, default
 * ../dist), driven through its public XemsService inside a Nest application context.
 */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import { libraryRequire } from '../infra/library';
import { childPids } from '../infra/proc';

// Types only ("nestjs-xems" maps to ../dist in tsconfig.json): the code is the repo's build,
// loaded at run time from XEMS_BENCH_LIB.
export type XemsLib = typeof import('nestjs-xems');
export type XemsServiceApi = InstanceType<XemsLib['XemsService']>;

export function loadXems(): XemsLib {
  const lib = libraryRequire();
  // The apps and the library must share one @nestjs/* instance (or guards' exceptions would not
  // be recognised): both resolve it from the repo's node_modules, never from bench/node_modules.
  const ours = require.resolve('@nestjs/core');
  const theirs = lib.resolve('@nestjs/core');
  if (ours !== theirs) throw new Error(`two copies of @nestjs/core: ${ours} and ${theirs}; remove @nestjs/* from bench/node_modules`);
  return lib('./index') as XemsLib;
}

export interface XemsContext {
  xems: XemsServiceApi;
  sidecarPid: number;
  close(): Promise<void>;
}

export async function startXems(options: Parameters<XemsLib['XemsModule']['forRoot']>[0] = {}): Promise<XemsContext> {
  const lib = loadXems();
  const ctx: INestApplicationContext = await NestFactory.createApplicationContext(lib.XemsModule.forRoot(options), {
    logger: ['error', 'warn'],
  });
  const xems = ctx.get(lib.XemsService);
  const pids = childPids(process.pid, 'xems-sidecar');
  if (pids.length !== 1) throw new Error(`expected one xems-sidecar child, found ${pids.length}`);
  return { xems, sidecarPid: pids[0], close: () => ctx.close() };
}
