/**
 * Whether a write happened, when Redis fails mid-request (issue 13, defect 2). A command that was
 * never written to the connection surely did not run (`CommandNotSentError`: nothing changed); one
 * that was written and lost its connection before the reply may have run (`OutcomeUnknownError`).
 * A reply, even an error reply, is an outcome. Callers that must tell these apart send through
 * `sendWhenReady`.
 */
import { ReplyError, type Redis } from 'ioredis';

/** Redis could not be reached, so the command was not sent: nothing changed. */
export class CommandNotSentError extends Error {
  constructor(reason: string) {
    super(`Redis is unavailable (${reason}); the command was not sent`);
    this.name = 'CommandNotSentError';
  }
}

/** The command was sent, and the connection was lost before Redis answered: it may have run. */
export class OutcomeUnknownError extends Error {
  constructor(override readonly cause: unknown) {
    super(`the connection to Redis was lost after the command was sent: ${(cause as Error)?.message ?? cause}`);
    this.name = 'OutcomeUnknownError';
  }
}

/** How long a command waits for a connection that is (re)connecting before it is not sent at all. */
export const READY_WAIT_MS = 2_000;

/** Commands in flight per connection, failed at once when it closes (ioredis may resend them later). */
const inFlight = new WeakMap<Redis, Set<(err: Error) => void>>();

function trackCloses(redis: Redis): Set<(err: Error) => void> {
  let pending = inFlight.get(redis);
  if (!pending) {
    const set = new Set<(err: Error) => void>();
    redis.on('close', () => {
      for (const fail of [...set]) fail(new OutcomeUnknownError(new Error('connection closed before the reply')));
    });
    inFlight.set(redis, set);
    pending = set;
  }
  return pending;
}

function whenReady(redis: Redis, waitMs: number): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  if (redis.status === 'end') return Promise.reject(new CommandNotSentError('the connection was closed'));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      redis.off('ready', onReady);
      reject(new CommandNotSentError(`not connected within ${waitMs} ms`));
    }, waitMs);
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    redis.once('ready', onReady);
  });
}

/**
 * Runs `send` (which must issue its command at once, on `redis`, not auto-pipelined) once the
 * connection is ready, and classifies how it failed: an error reply as it is, anything else after
 * sending as `OutcomeUnknownError`; not ready within `waitMs` as `CommandNotSentError`.
 */
export async function sendWhenReady<T>(redis: Redis, send: () => Promise<T>, waitMs = READY_WAIT_MS): Promise<T> {
  if (redis.status !== 'ready') await whenReady(redis, waitMs);
  if (redis.status !== 'ready') throw new CommandNotSentError(`connection ${redis.status}`);
  const pending = trackCloses(redis);
  return new Promise<T>((resolve, reject) => {
    const fail = (err: Error) => {
      pending.delete(fail);
      reject(err);
    };
    pending.add(fail);
    send().then(
      (value) => {
        pending.delete(fail);
        resolve(value);
      },
      (err: unknown) => fail(err instanceof ReplyError ? (err as Error) : new OutcomeUnknownError(err)),
    );
  });
}
