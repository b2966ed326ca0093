import 'reflect-metadata';
import { XemsError } from '../../src';
import { readSampleConfig, type SampleConfig } from './sample.config';
import { createSampleApp, listenSampleApp } from './sample.app';

function explain(err: unknown, config: SampleConfig): string {
  if (!(err instanceof XemsError)) return `The sample could not start: ${err instanceof Error ? err.message : String(err)}`;
  const lines = [`The sample could not start: ${err.message}`, `  Fix: ${err.hint}`];
  if (config.persist) {
    lines.push(`  (--persist keeps sessions in the encrypted vault at ${config.persistPath}; run without it for the in-memory store.)`);
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  let config: SampleConfig;
  try {
    config = readSampleConfig();
  } catch (err) {
    console.error((err as Error).message);
    process.exitCode = 2;
    return;
  }
  if (config.persist && !config.secret) {
    console.error(
      '--persist needs the vault secret in XEMS_SECRET. Create one with:\n' +
        '  export XEMS_SECRET="$(npx nestjs-xems secret)"    (in this repository: node bin/nestjs-xems.js secret)',
    );
    process.exitCode = 1;
    return;
  }
  let app;
  try {
    app = await createSampleApp(config);
    // The library installs no signal handlers: this lets Ctrl+C / SIGTERM stop the sidecar cleanly.
    app.enableShutdownHooks();
    const url = await listenSampleApp(app, config);
    console.log(`\nnestjs-xems sample is running: open ${url}\n`);
  } catch (err) {
    console.error(explain(err, config));
    await app?.close().catch(() => undefined);
    process.exitCode = 1;
  }
}

void main();
