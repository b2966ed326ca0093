/**
 * The library build the benchmarks measure: XEMS_BENCH_LIB, default the repository's dist/.
 * It is chosen when the benchmark runs, not when it compiles ("nestjs-xems" maps to ../dist in
 * tsconfig.json for its types only), so its modules are loaded by path at run time.
 */
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';

/** The library build's directory (absolute). */
export function libraryPath(): string {
  return resolve(process.env.XEMS_BENCH_LIB ?? resolve(__dirname, '..', '..', '..', 'dist'));
}

/** A require rooted in the library build: it resolves and loads modules as the library does. */
export function libraryRequire(): NodeJS.Require {
  return createRequire(join(libraryPath(), 'index.js'));
}
