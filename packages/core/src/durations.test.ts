/** Durations as docs/contract.md §1 writes them: `<number><ms|s|m|h|d>` or plain milliseconds. */
import { formatDuration, parseDuration } from './durations';

const S = 1_000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;

describe('parseDuration', () => {
  it.each<[string | number, number]>([
    ['0', 0],
    ['500', 500],
    ['500ms', 500],
    ['15s', 15 * S],
    ['5m', 5 * M],
    ['2h', 2 * H],
    ['7d', 7 * D],
    ['1.5s', 1500],
    ['0.5m', 30 * S],
    [' 5 s ', 5 * S],
    ['10 h', 10 * H],
    ['0.4ms', 0],
    ['0.6', 1],
    [0, 0],
    [250, 250],
    [2.6, 3],
  ])('%j → %i ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each<[string | number]>([
    [''],
    ['s'],
    ['-5'],
    ['-5s'],
    ['5x'],
    ['5 m s'],
    ['5sec'],
    ['1e3'],
    ['Infinity'],
    ['5S'], // units are lowercase
    ['.5s'],
    [-1],
    [NaN],
    [Infinity],
  ])('refuses %j', (text) => {
    expect(() => parseDuration(text)).toThrow();
  });

  it('names what it was parsing in the error', () => {
    expect(() => parseDuration('soon', 'DEVHOOKS_BATCH_WINDOW')).toThrow(
      /^DEVHOOKS_BATCH_WINDOW: "soon" is not a duration/,
    );
    expect(() => parseDuration(-1, 'DEVHOOKS_LOG_TTL')).toThrow(/^DEVHOOKS_LOG_TTL: -1/);
  });

  it.each<[string, number]>([
    ['DEVHOOKS_DELIVERY_TIMEOUT', 15 * S],
    ['DEVHOOKS_BATCH_WINDOW', 1 * S],
    ['DEVHOOKS_LOG_TTL', 7 * D],
  ])('the defaults of §1 parse: %s', (name, ms) => {
    const defaults: Record<string, string> = {
      DEVHOOKS_DELIVERY_TIMEOUT: '15s',
      DEVHOOKS_BATCH_WINDOW: '1s',
      DEVHOOKS_LOG_TTL: '7d',
    };
    expect(parseDuration(defaults[name], name)).toBe(ms);
  });
});

describe('formatDuration', () => {
  it.each<[number, string]>([
    [0, '0ms'],
    [1, '1ms'],
    [500, '500ms'],
    [1000, '1s'],
    [1500, '1500ms'],
    [15 * S, '15s'],
    [90 * S, '90s'],
    [M, '1m'],
    [30 * M, '30m'],
    [H, '1h'],
    [10 * H, '10h'],
    [36 * H, '36h'],
    [D, '1d'],
    [7 * D, '7d'],
  ])('%i → %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it.each([0, 1, 999, 1000, 1001, 59_999, M, 90 * M, H, 25 * H, D, 30 * D])(
    'round-trips %i through parseDuration',
    (ms) => {
      expect(parseDuration(formatDuration(ms))).toBe(ms);
    },
  );
});
