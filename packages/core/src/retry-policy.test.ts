/** The retry policy of docs/contract.md §6 (schedule, jitter, outcome of an attempt, Retry-After). */
import {
  classify,
  DEFAULT_RETRY_SCHEDULE,
  JITTER,
  nextDelay,
  parseRetryAfter,
  parseRetrySchedule,
  scheduleHorizon,
  withJitter,
  type AttemptResult,
  type Outcome,
} from './retry-policy';

const S = 1_000;
const M = 60 * S;
const H = 60 * M;
const DEFAULT = [0, 5 * S, 5 * M, 30 * M, 2 * H, 5 * H, 10 * H, 10 * H];

describe('parseRetrySchedule', () => {
  it('parses the default schedule of docs/contract.md §1', () => {
    expect(DEFAULT_RETRY_SCHEDULE).toBe('0,5s,5m,30m,2h,5h,10h,10h');
    expect(parseRetrySchedule(DEFAULT_RETRY_SCHEDULE)).toEqual([
      0, 5000, 300000, 1800000, 7200000, 18000000, 36000000, 36000000,
    ]);
    expect(parseRetrySchedule(DEFAULT_RETRY_SCHEDULE)).toEqual(DEFAULT);
  });

  it.each<[string, number[]]>([
    ['0', [0]],
    ['250', [250]],
    ['500ms,1s', [500, 1000]],
    [' 0 , 5s ,1m ', [0, 5000, 60000]],
    ['1.5s,2d', [1500, 2 * 24 * H]],
    [Array(50).fill('1s').join(','), Array(50).fill(1000)],
  ])('%j → %j', (text, expected) => {
    expect(parseRetrySchedule(text)).toEqual(expected);
  });

  it.each([
    ['empty', ''],
    ['only a comma', ','],
    ['an empty step', '0,,5s'],
    ['a trailing comma', '0,5s,'],
    ['an unknown unit', '0,5x'],
    ['a negative step', '0,-5s'],
    ['words', 'soon,later'],
    ['51 steps', Array(51).fill('1s').join(',')],
  ])('refuses %s (%j)', (_label, text) => {
    expect(() => parseRetrySchedule(text)).toThrow(/retry schedule/);
  });
});

describe('withJitter', () => {
  it('is ±20 %', () => expect(JITTER).toBe(0.2));

  it.each<[number, number, number]>([
    [1000, 0, 800],
    [1000, 0.5, 1000],
    [1000, 0.999, 1200], // 1199.6, rounded
    [5000, 0, 4000],
    [5000, 0.5, 5000],
    [5000, 0.999, 5998],
    [36_000_000, 0, 28_800_000],
    [36_000_000, 0.5, 36_000_000],
    [36_000_000, 0.999, 43_185_600],
    [0, 0, 0],
    [0, 0.999, 0],
  ])('withJitter(%i, %f) = %i', (base, random, expected) => {
    expect(withJitter(base, random)).toBe(expected);
  });

  it.each(DEFAULT.filter((d) => d > 0))('stays within [0.8, 1.2] × %i for random in [0, 1)', (base) => {
    for (const r of [0, 0.001, 0.25, 0.5, 0.75, 0.999, 0.999999]) {
      const d = withJitter(base, r);
      expect(d).toBeGreaterThanOrEqual(Math.floor(base * 0.8));
      expect(d).toBeLessThanOrEqual(Math.ceil(base * 1.2));
    }
  });

  it('uses Math.random by default', () => {
    const spy = jest.spyOn(Math, 'random').mockReturnValue(0);
    try {
      expect(withJitter(1000)).toBe(800);
      expect(nextDelay(DEFAULT, 1)).toBe(4000);
    } finally {
      spy.mockRestore();
    }
  });
});

describe('classify', () => {
  it.each<[AttemptResult, Outcome]>([
    // 2xx succeeds
    [{ statusCode: 200 }, 'success'],
    [{ statusCode: 201 }, 'success'],
    [{ statusCode: 202 }, 'success'],
    [{ statusCode: 204 }, 'success'],
    [{ statusCode: 299 }, 'success'],
    // redirects are not followed: they fail
    [{ statusCode: 301 }, 'fail'],
    [{ statusCode: 302 }, 'fail'],
    [{ statusCode: 304 }, 'fail'],
    [{ statusCode: 307 }, 'fail'],
    [{ statusCode: 308 }, 'fail'],
    // other 4xx fail at once
    [{ statusCode: 400 }, 'fail'],
    [{ statusCode: 401 }, 'fail'],
    [{ statusCode: 403 }, 'fail'],
    [{ statusCode: 404 }, 'fail'],
    [{ statusCode: 405 }, 'fail'],
    [{ statusCode: 413 }, 'fail'],
    [{ statusCode: 422 }, 'fail'],
    // ... but these are retried
    [{ statusCode: 408 }, 'retry'],
    [{ statusCode: 425 }, 'retry'],
    [{ statusCode: 429 }, 'retry'],
    // 5xx retried, except 501
    [{ statusCode: 500 }, 'retry'],
    [{ statusCode: 501 }, 'fail'],
    [{ statusCode: 502 }, 'retry'],
    [{ statusCode: 503 }, 'retry'],
    [{ statusCode: 504 }, 'retry'],
    [{ statusCode: 599 }, 'retry'],
    // 410 fails and disables
    [{ statusCode: 410 }, 'fail_disable'],
    // 1xx is not a success
    [{ statusCode: 100 }, 'fail'],
    // network errors retry
    [{ error: 'timeout' }, 'retry'],
    [{ error: 'connection_refused' }, 'retry'],
    [{ error: 'connection_reset' }, 'retry'],
    [{ error: 'dns_error' }, 'retry'],
    [{ error: 'circuit_open' }, 'retry'],
    [{}, 'retry'],
    // policy refusals cannot change by retrying
    [{ error: 'blocked_address' }, 'fail'],
    [{ error: 'invalid_url' }, 'fail'],
    // a status code decides over an error string
    [{ statusCode: 200, error: 'timeout' }, 'success'],
  ])('%j → %s', (result, outcome) => {
    expect(classify(result)).toBe(outcome);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2024-05-01T12:00:00Z');
  it.each<[string | string[] | undefined, number | undefined]>([
    ['0', 0],
    ['5', 5000],
    ['120', 120_000],
    [' 30 ', 30_000],
    [['7', '9'], 7000],
    ['Wed, 01 May 2024 12:01:00 GMT', 60_000],
    ['Wed, 01 May 2024 14:00:00 GMT', 2 * H],
    ['Wed, 01 May 2024 11:00:00 GMT', 0], // in the past: now
    [undefined, undefined],
    ['', undefined],
    ['soon', undefined],
    ['-5', undefined],
    ['1.5', undefined],
    ['5s', undefined],
    ['Wed, 99 Foo 2024', undefined],
  ])('%j → %j', (value, expected) => {
    expect(parseRetryAfter(value, now)).toBe(expected);
  });
});

describe('nextDelay', () => {
  describe('without Retry-After: the jittered step', () => {
    it.each<[number, number, number]>([
      [0, 0.5, 0],
      [1, 0.5, 5 * S],
      [1, 0, 4 * S],
      [1, 0.999, 5998],
      [2, 0.5, 5 * M],
      [7, 0.5, 10 * H],
      [7, 0, 8 * H],
    ])('after %i attempts, random %f → %i', (made, random, expected) => {
      expect(nextDelay(DEFAULT, made, undefined, random)).toBe(expected);
    });
  });

  it.each([8, 9, 100])('schedule spent after %i attempts → undefined (with or without Retry-After)', (made) => {
    expect(nextDelay(DEFAULT, made, undefined, 0.5)).toBeUndefined();
    expect(nextDelay(DEFAULT, made, 1000, 0.5)).toBeUndefined();
  });

  it('an empty schedule has no next attempt', () => {
    expect(nextDelay([], 0)).toBeUndefined();
  });

  describe('with Retry-After (no jitter)', () => {
    it.each<[string, readonly number[], number, number, number]>([
      ['shorter than the step is used', DEFAULT, 1, 1 * S, 1 * S],
      ['zero is used', DEFAULT, 1, 0, 0],
      ['equal to the step', DEFAULT, 1, 5 * S, 5 * S],
      ['longer than the step, shorter than the following step, is honoured', DEFAULT, 1, 60 * S, 60 * S],
      ['equal to the following step is honoured', DEFAULT, 1, 5 * M, 5 * M],
      ['longer than the following step is capped at it', DEFAULT, 1, 1 * H, 5 * M],
      ['first attempt: capped at the following step', DEFAULT, 0, 1 * H, 5 * S],
      ['equal steps (10h, 10h): capped at 10h', DEFAULT, 6, 20 * H, 10 * H],
      ['last step (no following step): capped at the step itself', DEFAULT, 7, 50 * H, 10 * H],
      ['last step: shorter used', DEFAULT, 7, 1 * H, 1 * H],
      ['decreasing schedule: bound is the larger, the step', [0, 10 * S, 1 * S], 1, 20 * S, 10 * S],
      ['decreasing schedule: shorter used', [0, 10 * S, 1 * S], 1, 3 * S, 3 * S],
    ])('%s', (_label, schedule, made, retryAfter, expected) => {
      expect(nextDelay(schedule, made, retryAfter, 0)).toBe(expected);
      // jitter does not apply to a receiver's explicit request
      expect(nextDelay(schedule, made, retryAfter, 0.999)).toBe(expected);
    });
  });
});

describe('scheduleHorizon', () => {
  it.each<[number[], number]>([
    [DEFAULT, Math.ceil((0 + 5 * S + 5 * M + 30 * M + 2 * H + 5 * H + 10 * H + 10 * H) * 1.2)],
    [DEFAULT, 119_166_000],
    [[], 0],
    [[0], 0],
    [[1], 2], // 1.2, rounded up
    [[10], 12],
    [[1000, 2000], 3600],
  ])('%j → %i', (schedule, expected) => {
    expect(scheduleHorizon(schedule)).toBe(expected);
  });

  it('bounds the sum of every jittered step', () => {
    const worst = DEFAULT.reduce((sum, _d, i) => sum + (nextDelay(DEFAULT, i, undefined, 0.999999) ?? 0), 0);
    expect(worst).toBeLessThanOrEqual(scheduleHorizon(DEFAULT));
  });
});
