/**
 * The capacity model of docs/scaling.md as code: how many Redis masters a load needs, from the
 * measured cost of one session (bytes) and of one request and one login (redis-server CPU).
 * Pure arithmetic, tested in model.spec.ts; the bench fills the inputs from its own run.
 */

export interface CapacityInputs {
  /** used_memory per live session (including its user index when sessions have a user). */
  redisBytesPerSession: number;
  /** redis-server CPU per guarded request (resolve + rotate), summed over every master. */
  redisCpuUsPerRequest: number;
  /** redis-server CPU per login (a session created). */
  redisCpuUsPerLogin: number;
}

export interface Demand {
  requestsPerSec: number;
  loginsPerSec: number;
  liveSessions: number;
  /** The busiest master's CPU target, a fraction of its one core (0.5 leaves 50 % headroom). */
  cpuTarget: number;
  /** Memory each master may give to sessions, GiB (its maxmemory less what else it holds). */
  memoryGiBPerMaster: number;
  /** Busiest master's share over the mean share (1 = perfectly even; see the cluster check). */
  imbalance: number;
}

export interface Plan {
  /** Cores of redis-server CPU the load needs, over all masters together. */
  cores: number;
  /** Session data over all masters, GiB. */
  memoryGiB: number;
  mastersForCpu: number;
  mastersForMemory: number;
  masters: number;
  /** With `masters`: the busiest master's CPU (fraction of a core) and memory (GiB). */
  busiestCpu: number;
  busiestMemoryGiB: number;
}

export const GIB = 1024 ** 3;

/** Live sessions one GiB holds at this many bytes each. */
export function sessionsPerGiB(bytesPerSession: number): number {
  if (!(bytesPerSession > 0)) throw new RangeError(`bytes per session must be positive, got ${bytesPerSession}`);
  return Math.floor(GIB / bytesPerSession);
}

function positive(name: string, v: number): void {
  if (!(v > 0) || !Number.isFinite(v)) throw new RangeError(`${name} must be a positive number, got ${v}`);
}

/**
 * Redis runs commands on one thread: a master gives at most one core. The busiest master gets
 * `imbalance` times the mean share of the requests and of the sessions, so
 *   cores   = (requests/s × CPU per request + logins/s × CPU per login) / 1e6
 *   masters = max(ceil(cores × imbalance / cpuTarget), ceil(GiB × imbalance / GiB per master), 1)
 */
export function plan(inputs: CapacityInputs, demand: Demand): Plan {
  positive('redisBytesPerSession', inputs.redisBytesPerSession);
  positive('redisCpuUsPerRequest', inputs.redisCpuUsPerRequest);
  positive('cpuTarget', demand.cpuTarget);
  positive('memoryGiBPerMaster', demand.memoryGiBPerMaster);
  if (demand.cpuTarget > 1) throw new RangeError(`cpuTarget is a fraction of one core (at most 1), got ${demand.cpuTarget}`);
  if (!(demand.imbalance >= 1)) throw new RangeError(`imbalance is the busiest share over the mean (at least 1), got ${demand.imbalance}`);
  for (const [name, v] of [
    ['requestsPerSec', demand.requestsPerSec],
    ['loginsPerSec', demand.loginsPerSec],
    ['liveSessions', demand.liveSessions],
    ['redisCpuUsPerLogin', inputs.redisCpuUsPerLogin],
  ] as const) {
    if (!(v >= 0) || !Number.isFinite(v)) throw new RangeError(`${name} must be zero or more, got ${v}`);
  }
  const cores = (demand.requestsPerSec * inputs.redisCpuUsPerRequest + demand.loginsPerSec * inputs.redisCpuUsPerLogin) / 1e6;
  const memoryGiB = (demand.liveSessions * inputs.redisBytesPerSession) / GIB;
  const mastersForCpu = Math.ceil((cores * demand.imbalance) / demand.cpuTarget);
  const mastersForMemory = Math.ceil((memoryGiB * demand.imbalance) / demand.memoryGiBPerMaster);
  const masters = Math.max(mastersForCpu, mastersForMemory, 1);
  return {
    cores,
    memoryGiB,
    mastersForCpu,
    mastersForMemory,
    masters,
    busiestCpu: (cores / masters) * demand.imbalance,
    busiestMemoryGiB: (memoryGiB / masters) * demand.imbalance,
  };
}

/** max / mean of the keys (or CPU) per master: the `imbalance` a measured spread implies. */
export function imbalanceOf(perMaster: number[]): number {
  if (!perMaster.length || perMaster.some((x) => !(x >= 0)))
    throw new RangeError(`per-master values must be zero or more: ${perMaster.join(', ')}`);
  const mean = perMaster.reduce((a, b) => a + b, 0) / perMaster.length;
  return mean > 0 ? Math.max(...perMaster) / mean : 1;
}

/** max / min of the keys per master (Infinity when a master holds none). */
export function spreadOf(perMaster: number[]): number {
  const min = Math.min(...perMaster);
  return min > 0 ? Math.max(...perMaster) / min : Infinity;
}
