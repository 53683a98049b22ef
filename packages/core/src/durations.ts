/**
 * Durations as docs/contract.md §1 writes them: `<number><ms|s|m|h|d>` or plain milliseconds.
 */
const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/;

/** Parses one duration to milliseconds; throws a readable error on bad input. */
export function parseDuration(text: string | number, what = 'duration'): number {
  if (typeof text === 'number') {
    if (!Number.isFinite(text) || text < 0) throw new Error(`${what}: ${text} is not a non-negative duration`);
    return Math.round(text);
  }
  const m = DURATION.exec(text);
  if (!m)
    throw new Error(`${what}: "${text}" is not a duration (use e.g. 500ms, 15s, 5m, 2h, 7d or plain milliseconds)`);
  return Math.round(Number(m[1]) * UNIT_MS[m[2] ?? 'ms']);
}

/** Formats milliseconds the way docs/contract.md §1 writes them (largest whole unit). */
export function formatDuration(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    const size = UNIT_MS[unit];
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
