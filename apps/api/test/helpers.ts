/**
 * Small helpers shared by the API integration tests (not a test file: jest only runs *.test.ts).
 */
import { createHash } from 'node:crypto';
import type Redis from 'ioredis';
import { keyPattern, redisKeys, type Webhook } from '@devhooks/core';
import type { ApiDeps } from '../src/deps';
import { startTestApi, type CallResult, type TestApi } from '../../../test/support/api';

/** Like startTestApi, with dependency overrides (e.g. a checkTarget that never asks real DNS). */
export function startTestApiWith(
  prefix: string,
  env: Record<string, string>,
  overrides: Partial<ApiDeps>,
): Promise<TestApi> {
  return startTestApi(prefix, env, overrides);
}

/** Every key of a prefix, sorted. */
export async function keysOf(redis: Redis, prefix: string): Promise<string[]> {
  const out = new Set<string>();
  for (const pattern of keyPattern(prefix)) {
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 10000);
      for (const k of batch) out.add(k);
      cursor = next;
    } while (cursor !== '0');
  }
  return [...out].sort();
}

/** Keys a running worker rewrites on its own (BullMQ's bookkeeping, the trim lease): not data. */
const VOLATILE = /:retries:(stalled-check|stalled|marker|events|meta)$|:trim-lease$/;

const STREAM_STATE = `
local info = redis.call('XINFO', 'STREAM', KEYS[1])
local out = {}
for i = 1, #info, 2 do
  local f = info[i]
  if f == 'length' or f == 'last-generated-id' or f == 'entries-added' or f == 'max-deleted-entry-id' then
    table.insert(out, f .. '=' .. tostring(info[i + 1]))
  end
end
return out`;

/**
 * What a prefix holds, compactly: every key (but a worker's bookkeeping) → its type and a digest of
 * its content, so any write under the prefix changes it, and a failed comparison diffs small.
 */
export async function fingerprint(redis: Redis, prefix: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const k of await keysOf(redis, prefix)) {
    if (VOLATILE.test(k)) continue;
    const type = await redis.type(k);
    let content: unknown = '';
    switch (type) {
      case 'string': {
        // large values by length only: pulling megabytes makes the Redis client keep big buffers
        const n = await redis.strlen(k);
        content = n > 65_536 ? `length ${n}` : await redis.get(k);
        break;
      }
      case 'hash':
        content = Object.entries(await redis.hgetall(k)).sort();
        break;
      case 'stream':
        // any append or deletion changes the length, the last id or the count of entries added
        // (read in a script: XINFO's own reply carries whole entries, which may be megabytes)
        content = await redis.eval(STREAM_STATE, 1, k);
        break;
      case 'zset':
        content = await redis.zrange(k, 0, -1, 'WITHSCORES');
        break;
      case 'list':
        content = await redis.lrange(k, 0, -1);
        break;
      case 'set':
        content = (await redis.smembers(k)).sort();
        break;
    }
    out[k] = `${type} ${createHash('sha1').update(JSON.stringify(content)).digest('hex').slice(0, 12)}`;
  }
  return out;
}

/** Length of the API's event stream (shard 0). */
export async function streamLength(redis: Redis, prefix: string): Promise<number> {
  return redis.xlen(redisKeys(prefix).shard(0).stream);
}

/** A webhook as stored in Redis (the secret included): to check what the API never shows. */
export async function storedWebhook(
  redis: Redis,
  prefix: string,
  org: string,
  id: string,
): Promise<Webhook | undefined> {
  const raw = await redis.hget(redisKeys(prefix).orgWebhooks(org), id);
  return raw ? (JSON.parse(raw) as Webhook) : undefined;
}

/** Asserts the error shape of docs/contract.md §4: `{"error": {"code", "message", "details"?}}` with `status`. */
export function expectError(res: CallResult, status: number, code?: string): void {
  expect({ status: res.status, body: res.body }).toMatchObject({ status, body: { error: expect.any(Object) } });
  expect(res.headers.get('content-type') ?? '').toMatch(/^application\/json/);
  const e = res.body.error;
  expect(typeof e.code).toBe('string');
  expect(typeof e.message).toBe('string');
  expect(e.message.length).toBeGreaterThan(0);
  expect(Object.keys(res.body)).toEqual(['error']);
  for (const k of Object.keys(e)) expect(['code', 'message', 'details']).toContain(k);
  if (e.details !== undefined) {
    expect(Array.isArray(e.details)).toBe(true);
    for (const d of e.details) {
      expect(typeof d.path).toBe('string');
      expect(typeof d.message).toBe('string');
      if (d.index !== undefined) expect(Number.isInteger(d.index)).toBe(true);
    }
  }
  if (code !== undefined) expect(e.code).toBe(code);
}

/** The details of an error response (empty when none). */
export function detailsOf(res: CallResult): Array<{ index?: number; path: string; message: string }> {
  return res.body?.error?.details ?? [];
}

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
