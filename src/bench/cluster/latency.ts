/** The hdr-histogram-js package, loaded on demand (a devDependency). */
type HdrModule = typeof import("hdr-histogram-js");
type HdrHistogram = ReturnType<HdrModule["build"]>;

/** Latencies are recorded in microseconds, up to a minute, to 3 significant digits. */
const HIGHEST_MICROSECONDS = 60_000_000;
const SIGNIFICANT_DIGITS = 3;

export interface LatencySummary {
  readonly p50_ms: number;
  readonly p99_ms: number;
  readonly p999_ms: number;
}

let hdr: HdrModule | undefined;

export async function loadHistograms(): Promise<void> {
  try {
    hdr ??= await import("hdr-histogram-js");
  } catch (error) {
    throw new Error(`kvraft bench cluster needs the hdr-histogram-js package (a devDependency) for latencies: run it from a clone after npm ci (${(error as Error).message})`);
  }
}

/** One measurement's latencies; call `loadHistograms()` once before. */
export class LatencyRecorder {
  private readonly histogram: HdrHistogram;

  constructor() {
    if (hdr === undefined) throw new Error("LatencyRecorder: loadHistograms() was not awaited first");
    this.histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: HIGHEST_MICROSECONDS, numberOfSignificantValueDigits: SIGNIFICANT_DIGITS });
  }

  record(milliseconds: number): void {
    this.histogram.recordValue(Math.min(HIGHEST_MICROSECONDS, Math.max(1, Math.round(milliseconds * 1000))));
  }

  get count(): number {
    return this.histogram.totalCount;
  }

  summary(): LatencySummary {
    const ms = (percentile: number): number => Math.round(this.histogram.getValueAtPercentile(percentile)) / 1000;
    return { p50_ms: ms(50), p99_ms: ms(99), p999_ms: ms(99.9) };
  }

  destroy(): void {
    this.histogram.destroy();
  }
}
