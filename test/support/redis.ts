/** The Redis tests share (chosen by global-setup) and per-file key prefixes, so files run in parallel. */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import Redis from 'ioredis';
import { keyPattern, redisKeys, type Keys } from '@devhooks/core';
import { deleteByPattern } from '@devhooks/engine';

export function testRedisUrl(): string {
  return (
    process.env.DEVHOOKS_TEST_REDIS_URL ??
    process.env.REDIS_URL ??
    process.env.DEVHOOKS_REDIS_URL ??
    'redis://127.0.0.1:6379'
  );
}

/** A prefix of its own for one test file (and run): `t-<file>-<random>`. */
export function testPrefix(file: string): string {
  const base = path
    .basename(file)
    .replace(/\.test\.ts$/, '')
    .replace(/[^A-Za-z0-9]/g, '')
    .slice(0, 24);
  return `t-${base}-${randomBytes(4).toString('hex')}`;
}

export interface TestRedisOptions {
  /** Connect on first use (a connection a test may never use, closed before it would connect). */
  lazy?: boolean;
}

export function testRedis(o: TestRedisOptions = {}): Redis {
  return new Redis(testRedisUrl(), { maxRetriesPerRequest: 3, connectionName: 'devhooks-test', lazyConnect: !!o.lazy });
}

/** Deletes every key of a prefix. */
export async function cleanPrefix(prefix: string): Promise<void> {
  const r = testRedis();
  try {
    await deleteByPattern(r, keyPattern(prefix));
  } finally {
    r.disconnect();
  }
}

export interface TestFileRedis {
  prefix: string;
  keys: Keys;
  redis: Redis;
}

/**
 * A key prefix and a Redis connection of one test file's own (call at the top of the file, with
 * `__filename`); after the file's tests, its keys are deleted and the connection closed
 * (`cleanAfterEach`: after every test too).
 */
export function redisForTestFile(file: string, o: { cleanAfterEach?: boolean } = {}): TestFileRedis {
  const prefix = testPrefix(file);
  const redis = testRedis();
  if (o.cleanAfterEach) afterEach(() => cleanPrefix(prefix));
  afterAll(async () => {
    await cleanPrefix(prefix);
    redis.disconnect();
  });
  return { prefix, keys: redisKeys(prefix), redis };
}

/**
 * For a test file: its own prefix and key names, and a Redis client made before its tests and
 * closed (the prefix cleaned) after them. `redis()` is the client.
 */
export function redisForFile(file: string): { prefix: string; keys: Keys; redis: () => Redis } {
  const prefix = testPrefix(file);
  let client: Redis | undefined;
  beforeAll(() => {
    client = testRedis();
  });
  afterAll(async () => {
    await cleanPrefix(prefix);
    client?.disconnect();
  });
  return {
    prefix,
    keys: redisKeys(prefix),
    redis: () => {
      if (!client) throw new Error('redisForFile: the client exists only while tests run');
      return client;
    },
  };
}
