import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diffRedisCounters, parseRedisCounters } from './redis-stats';

// The shape of redis-server 7.0's `INFO commandstats stats` (abridged, CRLF line ends).
const info = (evalsha: number, hmget: number, reads: number, processed: number, infoCalls: number): string =>
  [
    '# Commandstats',
    `cmdstat_evalsha:calls=${evalsha},usec=${evalsha * 20},usec_per_call=20.00,rejected_calls=0,failed_calls=0`,
    `cmdstat_hmget:calls=${hmget},usec=${hmget * 4},usec_per_call=4.00,rejected_calls=0,failed_calls=0`,
    `cmdstat_info:calls=${infoCalls},usec=${infoCalls * 30},usec_per_call=30.00,rejected_calls=0,failed_calls=0`,
    'cmdstat_client|setname:calls=2,usec=3,usec_per_call=1.50,rejected_calls=0,failed_calls=0',
    '',
    '# Stats',
    'total_connections_received:12',
    `total_commands_processed:${processed}`,
    'instantaneous_ops_per_sec:0',
    `total_reads_processed:${reads}`,
    'total_writes_processed:99',
    '',
  ].join('\r\n');

test('parses every command (subcommands too) but INFO, and the read and command totals', () => {
  const c = parseRedisCounters(info(10, 5, 40, 100, 3));
  assert.deepEqual(c.commands, {
    evalsha: { calls: 10, usec: 200 },
    hmget: { calls: 5, usec: 20 },
    'client|setname': { calls: 2, usec: 3 },
  });
  assert.equal(c.reads, 40);
  assert.equal(c.commandsProcessed, 100);
});

test('the difference over a window leaves out unchanged commands and the reader own INFO', () => {
  const before = parseRedisCounters(info(10, 5, 40, 100, 3));
  const after = parseRedisCounters(info(1010, 5, 1041, 1101, 4));
  const d = diffRedisCounters(before, after);
  assert.deepEqual(d.commands, { evalsha: { calls: 1000, usec: 20_000 } });
  assert.equal(d.reads, 1000);
  assert.equal(d.commandsProcessed, 1000);
});

test('a command first seen in the window counts from zero; missing totals are NaN, not 0', () => {
  const before = parseRedisCounters('# Commandstats\r\n');
  const after = parseRedisCounters('cmdstat_get:calls=7,usec=14,usec_per_call=2.00\r\n');
  assert.deepEqual(diffRedisCounters(before, after, 0).commands, { get: { calls: 7, usec: 14 } });
  assert.ok(Number.isNaN(after.reads));
});
