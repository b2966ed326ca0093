// Preloaded with `node -r` by test/telemetry-absent.e2e-spec.ts: makes every @opentelemetry/*
// package unresolvable in this process, as when the application never installed it. `require`
// then throws the same MODULE_NOT_FOUND error Node throws for a package that is not there.
import Module from 'node:module';

type Resolve = (request: string, ...rest: unknown[]) => string;
const modules = Module as unknown as { _resolveFilename: Resolve };
const resolve = modules._resolveFilename;
modules._resolveFilename = function (this: unknown, request: string, ...rest: unknown[]): string {
  if (request.startsWith('@opentelemetry/')) {
    const err = new Error(`Cannot find module '${request}'`) as NodeJS.ErrnoException;
    err.code = 'MODULE_NOT_FOUND';
    throw err;
  }
  return resolve.call(this, request, ...rest);
};
