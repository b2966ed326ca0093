/**
 * The end of a benchmark child process (`node build/.../x.js '<json args>'`): prints the result
 * as one JSON line and exits 0, or prints the error and exits 1. The harness parses that line.
 */
export function finishAsChild(result: Promise<unknown>): void {
  result.then(
    (r) => {
      process.stdout.write(`${JSON.stringify(r)}\n`);
      process.exit(0);
    },
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
