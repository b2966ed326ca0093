/**
 * What a measured window cost redis-server, from its own counters: `INFO commandstats` (calls
 * and microseconds per command) and `INFO stats` (read events from client sockets), read at the
 * start and the end of the window and subtracted.
 */
import Redis from 'ioredis';

export interface CommandCount {
  calls: number;
  usec: number;
}

export interface RedisCounters {
  /** Per command, lower case as Redis names it (`evalsha`, `hmget`, `client|setname`). */
  commands: Record<string, CommandCount>;
  /** `total_reads_processed`: read events on client connections (a round trip of a client that does not pipeline is one). */
  reads: number;
  /** `total_commands_processed`: every command, those a script runs included. */
  commandsProcessed: number;
}

/** Parses the text of `INFO commandstats stats`. Commands the bench itself sends (INFO) are left out. */
export function parseRedisCounters(info: string): RedisCounters {
  const commands: Record<string, CommandCount> = {};
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
    if (m[1] === 'info') continue;
    commands[m[1]] = { calls: Number(m[2]), usec: Number(m[3]) };
  }
  const field = (name: string): number => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1] ?? NaN);
  return { commands, reads: field('total_reads_processed'), commandsProcessed: field('total_commands_processed') };
}

/**
 * after - before; a command absent before counts from zero. `ownInfo`: the INFO calls of the
 * reader between the two readings (one: its first INFO is counted after it ran, its read event
 * before), taken off the totals (INFO itself is never among the commands).
 */
export function diffRedisCounters(before: RedisCounters, after: RedisCounters, ownInfo = 1): RedisCounters {
  const commands: Record<string, CommandCount> = {};
  for (const [name, a] of Object.entries(after.commands)) {
    const b = before.commands[name] ?? { calls: 0, usec: 0 };
    if (a.calls > b.calls) commands[name] = { calls: a.calls - b.calls, usec: a.usec - b.usec };
  }
  return {
    commands,
    reads: after.reads - before.reads - ownInfo,
    commandsProcessed: after.commandsProcessed - before.commandsProcessed - ownInfo,
  };
}

/** The counters of several servers (a cluster's masters) added up. */
export function sumRedisCounters(all: RedisCounters[]): RedisCounters {
  const commands: Record<string, CommandCount> = {};
  for (const c of all) {
    for (const [name, n] of Object.entries(c.commands)) {
      const s = (commands[name] ??= { calls: 0, usec: 0 });
      s.calls += n.calls;
      s.usec += n.usec;
    }
  }
  const total = (f: (c: RedisCounters) => number): number => all.reduce((a, c) => a + f(c), 0);
  return { commands, reads: total((c) => c.reads), commandsProcessed: total((c) => c.commandsProcessed) };
}

/** Commands the harness itself sends (reading counters, cluster and connection set-up); left out of calls per command. */
const HARNESS_COMMANDS = new Set(['info', 'dbsize', 'cluster', 'config', 'client', 'command', 'hello', 'ping', 'select', 'auth']);

/** Calls per command name (subcommands folded into their command), without the harness's own. */
export function callsOf(c: RedisCounters): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, n] of Object.entries(c.commands)) {
    const base = name.split('|')[0];
    if (!HARNESS_COMMANDS.has(base)) out[base] = (out[base] ?? 0) + n.calls;
  }
  return out;
}

/**
 * One connection per server that sends nothing but INFO (no ready check, no client name), for
 * the load client: read() gives the servers' counters added up; diff with `ownInfo` = ports.
 */
export async function redisCounterReader(ports: number[]): Promise<{ read(): Promise<RedisCounters>; close(): void }> {
  const clients = ports.map(
    (port) => new Redis({ host: '127.0.0.1', port, lazyConnect: true, enableReadyCheck: false, maxRetriesPerRequest: 1 }),
  );
  await Promise.all(clients.map((c) => c.connect()));
  return {
    read: async () =>
      sumRedisCounters(
        await Promise.all(clients.map(async (c) => parseRedisCounters(String(await c.call('INFO', 'commandstats', 'stats'))))),
      ),
    close: () => clients.forEach((c) => c.disconnect()),
  };
}
