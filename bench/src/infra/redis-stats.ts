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

/** A connection that sends nothing but INFO (no ready check, no client name), for the load client. */
export async function redisCounterReader(port: number): Promise<{ read(): Promise<RedisCounters>; close(): void }> {
  const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, enableReadyCheck: false, maxRetriesPerRequest: 1 });
  await client.connect();
  return {
    read: async () => parseRedisCounters(String(await client.call('INFO', 'commandstats', 'stats'))),
    close: () => client.disconnect(),
  };
}
