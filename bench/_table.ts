/**
 * Timing helpers and a plain-text table printer for the benchmarks.
 *
 * @module
 */

/** The outcome of timing one operation. */
export interface Timing {
  /** Mean milliseconds per call (of the first call, when `exceeded`). */
  ms: number;
  /** How many calls were timed. */
  runs: number;
  /** The first call took longer than the budget, so it was not repeated. */
  exceeded?: boolean;
  /** The case was not run because it would take far longer than the budget (estimate in ms). */
  skippedEstimateMs?: number;
}

/** How long to spend timing one operation. */
export interface TimingOptions {
  /** Stop repeating once this many milliseconds were spent (default 1,000). */
  budgetMs?: number;
  /** A first call slower than this is reported as over the limit and not repeated (default `budgetMs`). */
  limitMs?: number;
  /** Never more than this many calls (default 1,000,000). */
  maxRuns?: number;
  /** Calls per timed batch, for operations far below a millisecond (default 1). */
  batch?: number;
}

/**
 * Times `fn`: one call first (a warm-up, unless it already used the whole budget; over `limitMs` it
 * is reported as such), then calls are repeated (in batches) until the budget or `maxRuns` is used up.
 */
export async function time(fn: (i: number) => unknown, options: TimingOptions = {}): Promise<Timing> {
  const budget = options.budgetMs ?? 1_000;
  const limit = options.limitMs ?? budget;
  const maxRuns = options.maxRuns ?? 1_000_000;
  const batch = options.batch ?? 1;
  let start = performance.now();
  await fn(0);
  const first = performance.now() - start;
  if (first > limit) return { ms: first, runs: 1, exceeded: true };
  if (first >= budget) return { ms: first, runs: 1 };
  let runs = 0;
  let total = 0;
  while (runs < maxRuns && total < budget) {
    start = performance.now();
    for (let i = 0; i < batch; i++) await fn(runs + i + 1);
    total += performance.now() - start;
    runs += batch;
  }
  return { ms: total / Math.max(runs, 1), runs };
}

/** Formats milliseconds with a sensible unit and precision. */
export function formatMs(ms: number): string {
  if (ms >= 1_000) return `${(ms / 1_000).toFixed(ms >= 10_000 ? 0 : 1)} s`;
  if (ms >= 10) return `${ms.toFixed(0)} ms`;
  if (ms >= 0.1) return `${ms.toFixed(2)} ms`;
  return `${(ms * 1_000).toFixed(1)} µs`;
}

/** Formats a timing: `12 ms`, `>10 s (12 s)` when over the limit, `>10 s (est. 5 min)` when skipped. */
export function formatTiming(timing: Timing | undefined, limitMs: number): string {
  if (!timing) return "–";
  if (timing.skippedEstimateMs !== undefined) {
    const est = timing.skippedEstimateMs;
    return `>${formatMs(limitMs)} (est. ${
      est >= 120_000 ? `${(est / 60_000).toFixed(0)} min` : formatMs(est)
    })`;
  }
  if (timing.exceeded) return `>${formatMs(limitMs)} (${formatMs(timing.ms)})`;
  return formatMs(timing.ms);
}

/** Formats how many times slower `theirs` is than `ours` (`~` when theirs is an estimate). */
export function formatRatio(ours: Timing | undefined, theirs: Timing | undefined): string {
  if (!ours || !theirs || ours.ms <= 0) return "–";
  const ms = theirs.skippedEstimateMs ?? theirs.ms;
  const ratio = ms / ours.ms;
  const text = ratio >= 100 ? Math.round(ratio).toLocaleString("en-US") : ratio.toFixed(1);
  return `${theirs.skippedEstimateMs !== undefined ? "~" : ""}${text}×`;
}

/** Renders rows as an aligned plain-text table (first column left-aligned, the rest right-aligned). */
export function renderTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? "").length)));
  const line = (cells: string[]): string =>
    cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join("  ");
  return [line(headers), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}
