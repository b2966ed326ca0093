/** The round-trip times of the last `size` calls, for percentiles (XemsService.stats()). */
export class LatencyWindow {
  private readonly samples: Float64Array;
  private next = 0;
  private count = 0;

  constructor(size = 4096) {
    this.samples = new Float64Array(size);
  }

  record(ms: number): void {
    this.samples[this.next] = ms;
    this.next = (this.next + 1) % this.samples.length;
    if (this.count < this.samples.length) this.count++;
  }

  /** Percentiles (nearest rank) of the window, in milliseconds; null when no call was measured. */
  percentiles(): { p50: number; p99: number; samples: number } | null {
    if (this.count === 0) return null;
    const sorted = this.samples.slice(0, this.count).sort();
    const rank = (p: number) => sorted[Math.min(this.count - 1, Math.ceil((p / 100) * this.count) - 1)];
    return { p50: rank(50), p99: rank(99), samples: this.count };
  }
}
