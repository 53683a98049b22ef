/** The delivery-log read pool: bounded running, bounded waiting, bounded per caller. */
import { ApiError } from './errors';
import { ReadPool } from './read-pool';

/** A read that finishes when told to. */
function gate(): { read: () => Promise<string>; open: () => void; started: () => boolean } {
  let release!: () => void;
  let began = false;
  const done = new Promise<void>((r) => (release = r));
  return {
    read: async () => {
      began = true;
      await done;
      return 'ok';
    },
    open: () => release(),
    started: () => began,
  };
}

async function rejection(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (err) {
    return err as ApiError;
  }
  throw new Error('expected a rejection');
}

const tick = () => new Promise((r) => setImmediate(r));

describe('ReadPool', () => {
  it('runs at most `concurrency` at once, queues up to `queue`, and answers 503 with Retry-After past that', async () => {
    const pool = new ReadPool({ concurrency: 2, queue: 1, perCaller: 10 });
    const g = [gate(), gate(), gate()];
    const runs = g.map((x, i) => pool.run(`k${i}`, x.read));
    await tick();
    expect(g.map((x) => x.started())).toEqual([true, true, false]);
    expect(pool.load).toEqual({ running: 2, waiting: 1 });
    const err = await rejection(pool.run('k9', async () => 'never'));
    expect(err).toBeInstanceOf(ApiError);
    expect(err.status).toBe(503);
    expect(err.code).toBe('busy');
    expect(err.headers).toEqual({ 'Retry-After': '1' });
    g[0].open();
    await runs[0];
    await tick();
    expect(g[2].started()).toBe(true); // the waiter took the freed place
    expect(pool.load).toEqual({ running: 2, waiting: 0 });
    g[1].open();
    g[2].open();
    expect(await Promise.all(runs)).toEqual(['ok', 'ok', 'ok']);
    expect(pool.load).toEqual({ running: 0, waiting: 0 });
  });

  it('answers 429 with Retry-After to a caller over its share, while others still get in', async () => {
    const pool = new ReadPool({ concurrency: 1, queue: 10, perCaller: 2 });
    const a = [gate(), gate()];
    const runs = a.map((x) => pool.run('viewer', x.read));
    const err = await rejection(pool.run('viewer', async () => 'never'));
    expect(err.status).toBe(429);
    expect(err.code).toBe('too_many_requests');
    expect(err.headers).toEqual({ 'Retry-After': '1' });
    const other = pool.run('admin', async () => 'other');
    a[0].open();
    a[1].open();
    expect(await Promise.all([...runs, other])).toEqual(['ok', 'ok', 'other']);
    // the share is given back: the caller may read again
    expect(await pool.run('viewer', async () => 'again')).toBe('again');
  });

  it('gives the place back when a read throws', async () => {
    const pool = new ReadPool({ concurrency: 1, queue: 0, perCaller: 1 });
    await expect(pool.run('k', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(pool.load).toEqual({ running: 0, waiting: 0 });
    expect(await pool.run('k', async () => 'fine')).toBe('fine');
  });
});
