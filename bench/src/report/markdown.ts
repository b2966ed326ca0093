/** RESULTS.md: the machine, the bars, every table and the method, in one Markdown document. */
import { CONNECTIONS, FLOOR_DEPTH, MICRO_DEPTHS } from '../config';
import { bars, sharedRatio, verdict } from './bars';
import { findings } from './findings';
import { mib, table } from './format';
import { readmeLines } from './readme';
import { redisCostTable } from './redis-cost';
import { httpMedianTable, memoryTable, microTables, otherLoadNote, rawRunsTable, sharedRedisTable, vaultTables } from './tables';
import type { BenchReport } from './summary';

export function renderMarkdown(report: BenchReport): string {
  const t = report.timing;
  const out: string[] = [];
  out.push(
    `# nestjs-xems benchmark results${report.quick ? ' (--quick smoke run: not for numbers)' : ''}${report.profiled ? ` (profiled: ${report.profiled.join(', ')}; not for numbers)` : ''}`,
  );
  out.push('');
  out.push(`Produced by \`${report.command}\` (in \`bench/\`) from ${report.startedAt} to ${report.finishedAt ?? '?'}.`);
  out.push(
    `HTTP: ${CONNECTIONS} keep-alive connections, each with its own cookie jar; warm-up ${t.warmupMs / 1000} s then ${t.durationMs / 1000} s per run, ` +
      `${t.runs} run(s) per app and endpoint, apps alternating; medians reported. Micro-benchmark: ${t.microRounds} round(s) of ${t.microDurationMs / 1000} s per case after ${t.microWarmupMs / 1000} s warm-up.`,
  );
  out.push('');
  out.push('## Machine and versions');
  out.push('');
  const m = report.machine;
  out.push(
    table(
      ['what', 'value'],
      [
        ['CPU', `${m.cpu}, ${m.cores} cores`],
        ['memory', m.memory],
        ['OS', `${m.os}, kernel ${m.kernel}`],
        ['load average at start / end', `${m.loadAvg} / ${report.machineAfter?.loadAvg ?? '?'}`],
        ...Object.entries(report.versions),
      ],
    ),
  );
  out.push('');
  const note = otherLoadNote(report);
  if (note) out.push(note, '');

  out.push('## The bars (issue 18; memory and vault from issues 7 and 4)');
  out.push('');
  out.push(
    'Every bar is a ratio of two measurements of this run (apps alternating, the micro cases in the same rounds); each row names the apps (numbers as in the tables below) and endpoints it compares.',
  );
  out.push('');
  const bs = bars(report);
  out.push(
    table(
      ['bar', 'measured', 'target', 'result'],
      bs.map((b) => [b.name, b.measured, b.target, verdict(b)]),
    ),
  );
  out.push('');

  if (report.summaries.length) {
    out.push('## HTTP: medians and ratios');
    out.push('');
    out.push(
      "req/s counts correct answers only (status 200, the logged-in user's own data, the session cookie followed). " +
        'Server CPU is the Node app process (both processes for apps 6 and 7); store CPU is redis-server (apps 2, 7), the xems sidecar (apps 4, 5), or both sidecars plus redis-server (apps 6 and 6s), all read from /proc over the measured window. ' +
        'RSS is read at the end of each run. Ratios compare req/s.',
    );
    out.push('');
    out.push(httpMedianTable(report));
    out.push('');
    const shared = sharedRedisTable(report);
    if (shared) {
      out.push('### Two instances sharing Redis (issue 8)');
      out.push('');
      out.push(
        `App 6 is the xems app started twice (two Node processes, two ports, each with its own sidecar), both with \`store: { type: 'redis', url, keyPrefix: 'bench:' }\`, ` +
          `one random 32-byte secret per bench run (passed in the environment), \`hardwareBinding: { id: 'bench' }\`, rotation on every request. ` +
          'App 7 is the connect-redis app started twice with the same cookie secret. Both use the same redis-server as app 2, in the same run. ' +
          'Each load-client user alternates the two instances request by request (its own cookie jar, one keep-alive connection to each), so every other request reaches the instance that did not issue its cookie: the worst case for a sidecar that caches what it last saw. ' +
          "App 6s is app 6's two processes with sticky users (as behind a sticky balancer): user i keeps to instance i mod 2. " +
          'CPU per request is summed over both Node processes, both sidecars (apps 6 and 6s) and redis-server.',
      );
      out.push('');
      out.push(shared);
      out.push('');
      out.push(
        `App 6 \`/me\` (rotation every request) req/s vs app 7 \`/me-rotate\`: **${sharedRatio(report)}** (bar above); app 6s (sticky users): **${sharedRatio(report, 'xems-redis:/me sticky')}**.`,
      );
      out.push('');
    }
    const cost = redisCostTable(report);
    if (cost) {
      out.push('### What each request costs Redis');
      out.push('');
      out.push(
        "redis-server's own counters, read by the load client at the start and at the end of each measured window (`INFO commandstats stats`; the reader's own INFO left out) and divided by the requests answered in it; medians over the runs. " +
          "Calls and usec are per command as Redis counts them; a command a Lua script runs is counted in its own row too, and its time is also inside the script's row. " +
          '"Client socket reads" is `total_reads_processed`: one per round trip for a client that sends one command at a time (the sidecar), fewer when a client pipelines the commands of several requests (node-redis). ' +
          'The redis-server CPU row is the process CPU from /proc over the same window, as in the tables above.',
      );
      out.push('');
      out.push(cost);
      out.push('');
    }
    out.push('### Every run');
    out.push('');
    out.push(rawRunsTable(report));
    out.push('');
  }
  if (report.micro) {
    out.push('## Sidecar micro-benchmark (Node -> sidecar vs Node -> ioredis -> redis-server)');
    out.push('');
    out.push(
      `\`xems get\` is \`XemsService.from(sandbox).get(key)\`, \`xems resolve+rotate\` is \`resolveSession(token, { rotate: true })\` (each worker follows its own session), ` +
        `\`ioredis GET\` reads a value of the same size (${report.micro.valueBytes} bytes) from the same redis-server. Depths: ${MICRO_DEPTHS.join(', ')} calls in flight. ` +
        `\`raw-floor PING\` is the floor of the pipe (issue 18): the cheapest client we could write (bench/src/micro/raw-floor.ts: frames of one event-loop turn in one write, no timers, no JSON) sends PING, which the sidecar answers without work, to a sidecar of its own (the binary the library started), at ${FLOOR_DEPTH} in flight, in the same rounds as the other cases. ` +
        "Its store CPU is that sidecar's.",
    );
    out.push('');
    out.push(microTables(report.micro));
    out.push('');
  }
  if (report.memory) {
    out.push(`## Memory: ${report.memory.entries.toLocaleString('en-US')} entries of ${report.memory.valueBytes} bytes`);
    out.push('');
    out.push(
      'Each in a fresh process: the sidecar holds sessions created with `createSession` (1 h TTL); redis-server holds the same values under `sess:<32 chars>` keys with `EX 3600`, loaded with pipelined SETs.',
    );
    out.push('');
    out.push(memoryTable(report.memory));
    out.push('');
    out.push(`redis-server used_memory (allocator's view): ${mib(report.memory.redis.usedMemoryBytes)} MiB.`);
    out.push('');
  }
  if (report.vault) {
    const v = report.vault;
    out.push(`## Vault load: ${v.entries.toLocaleString('en-US')} sessions of ${v.valueBytes} bytes`);
    out.push('');
    out.push(
      'The library as users run it: `XemsModule.forRoot({ persistence: { enabled: true, path, secret } })` with a fresh temporary directory, a random 32-byte secret made by the benchmark, ' +
        'the default hardware binding (/etc/machine-id) and fsync (`everysec`); `sidecar.startTimeout` is raised so that a slow load is measured rather than refused. ' +
        `The sessions of the memory comparison (same data, 1 h TTL) are created, the application context is closed, then started again on the same directory ${v.reloads.length} time(s). ` +
        'A reload is timed from `NestFactory.createApplicationContext` until the first `resolveSession` of a token kept at creation answers with its data: the Nest context, spawning the sidecar, ' +
        'its handshake, and the vault load (key derivation, reading, authenticating and decrypting every block, installing every record). ' +
        `After each reload \`stats()\` counts the sessions and ${v.sampled} kept tokens spread over the whole range are resolved without rotation and their data compared. ` +
        'The files were just written, so they are read from the page cache.',
    );
    out.push('');
    out.push(
      'The vault is what a user has after a clean shutdown: the sidecar compacts in the background while the journal grows (past 64 MiB and past the last snapshot) and never at shutdown, ' +
        'so a vault under 64 MiB is a journal over an empty snapshot and a larger one is the last snapshot plus the journal written since (the sizes are in the table). ' +
        'A snapshot-only vault, or a journal-only one above 64 MiB, cannot be made through the public options: ' +
        'the Go benchmark of the vault loader measures both ([docs/persistence-bench.md](../docs/persistence-bench.md)).',
    );
    out.push('');
    out.push(vaultTables(v, report.memory));
    out.push('');
  }
  out.push('## Method');
  out.push('');
  out.push(
    [
      '- Every process runs on 127.0.0.1 on this machine: redis-server (Debian package, `--save "" --appendonly no`), the apps (each instance its own Node process, same NestJS, same Express), the load client (its own Node process per run) and, for apps 4, 5 and 6, the xems sidecar each app process starts.',
      "- Apps: 1 bare NestJS; 2 express-session + connect-redis (node-redis client); 3 express-session MemoryStore; 4 nestjs-xems with its defaults (rotation on every request); 5 nestjs-xems `autoRotation: false`; 6 nestjs-xems with `store: { type: 'redis' }`, two instances; 6s app 6's processes with sticky users; 7 app 2 started twice. Apps 2, 6 and 7 share the one redis-server.",
      '- express-session (apps 2, 3, 7) is configured as tutorials teach: `resave: false`, `saveUninitialized: false`, login calls `req.session.regenerate`; `/me-rotate` regenerates the session on every request and copies the data.',
      `- Load: ${CONNECTIONS} users, each on its own keep-alive connection (\`http.Agent\`, one socket per instance) with its own cookie jar; each logs in once (\`POST /login\`) and then requests the endpoint in a closed loop, sending the cookie it was last given (for apps 6 and 7, to the two instances in turn). A wrong status, a wrong body (another user's data) or a network error counts as an error; after a 401 the user logs in again. Every run checks that rotating endpoints answered every request with a new session cookie and that the others never changed it.`,
      '- CPU per request is the process CPU time (/proc/<pid>/stat) over the measured window divided by the answers; RSS is VmRSS at the end of the run. Medians are taken per metric over the runs.',
      "- For the apps on Redis (2, 6, 6s, 7) the load client also reads redis-server's `INFO commandstats stats` at the start and at the end of the measured window (one extra connection that sends nothing else).",
      `- The micro-benchmark runs its cases in rounds (every operation and depth once per round, the floor \`raw-floor PING\` at ${FLOOR_DEPTH} in flight among them), so the library and its floor are measured in the same minutes; medians over the rounds.`,
      '- The runs alternate: run 1 of every app and endpoint, then run 2 (starting one step later in the order), and so on, so slow drift of the machine hits every app alike.',
    ].join('\n'),
  );
  out.push('');
  out.push('## For the README');
  out.push('');
  out.push('The lines of the README\'s "Benchmarks" section, made from this run:');
  out.push('');
  out.push('```markdown');
  out.push(readmeLines(report));
  out.push('```');
  out.push('');
  if (report.problems.length) {
    out.push('## Correctness problems');
    out.push('');
    for (const p of report.problems) out.push(`- ${p.replace(/\n/g, ' ')}`);
    out.push('');
  }
  const f = findings();
  if (f) {
    out.push(f);
    out.push('');
  }
  return out.join('\n');
}
