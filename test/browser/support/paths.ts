import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The repository root: the nearest folder above this file with the nestjs-xems package.json. */
export function repoRoot(start: string = __dirname): string {
  for (let dir = start; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'nestjs-xems') {
      return dir;
    }
    if (dirname(dir) === dir) throw new Error(`nestjs-xems repository root not found above ${start}`);
  }
}

/** test/artifacts/: screenshots and logs of test runs, git-ignored. */
export function artifactsDir(): string {
  return join(repoRoot(), 'test', 'artifacts');
}
