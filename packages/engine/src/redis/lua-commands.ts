/**
 * Lua scripts. Each touches keys of a single hash slot (passed in KEYS), so they run unchanged on
 * Redis Cluster.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { FIELDS } from '../log/stream-codec';

/**
 * Appends events, all or nothing, after checking the backlog bound and the duplicate window.
 * KEYS: stream, backlog, dedupe keys (one per event given an id by its producer)
 * ARGV: maxBacklog, dedupeTtlSeconds, n, then per event: dedupeKeyIndex (0: none) and the fields.
 * Returns {-1, backlog} when over the bound, else one entry id per event ('' for a duplicate).
 */
const INGEST = `
local backlog = tonumber(redis.call('GET', KEYS[2]) or '0')
local max = tonumber(ARGV[1])
if max > 0 and backlog >= max then return {-1, backlog} end
local ttl = ARGV[2]
local n = tonumber(ARGV[3])
local width = ${FIELDS.length + 1}
local ids = {}
local accepted = 0
for i = 0, n - 1 do
  local base = 4 + i * width
  local k = tonumber(ARGV[base])
  local fresh = true
  if k > 0 then
    fresh = redis.call('SET', KEYS[k], '1', 'NX', 'EX', ttl)
  end
  if fresh then
    ids[i + 1] = redis.call('XADD', KEYS[1], '*',
      ${FIELDS.map((f, j) => `'${f}', ARGV[base + ${j + 1}]`).join(', ')})
    accepted = accepted + 1
  else
    ids[i + 1] = ''
  end
end
if accepted > 0 then redis.call('INCRBY', KEYS[2], accepted) end
return ids
`;

/**
 * Acknowledges stream entries and lowers the backlog by the number actually acknowledged, so a
 * repeated acknowledgement never counts twice.
 * KEYS: stream, backlog. ARGV: group, ids...
 */
const ACK = `
local n = redis.call('XACK', KEYS[1], ARGV[1], unpack(ARGV, 2))
if n > 0 then
  local left = redis.call('DECRBY', KEYS[2], n)
  if left < 0 then redis.call('SET', KEYS[2], 0) end
end
return n
`;

/**
 * Compare-and-set of one hash field: writes the new value only if the field still holds the
 * expected one (a concurrent writer wins; the caller reads again). KEYS: hash. ARGV: field, expected, next.
 */
const REPLACE_FIELD = `
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
  return 1
end
return 0
`;

export interface LuaCommands {
  ingest(keys: string[], args: Array<string | number>): Promise<Array<string | number>>;
  ack(stream: string, backlog: string, group: string, ids: string[]): Promise<number>;
  replaceField(hash: string, field: string, expected: string, next: string): Promise<boolean>;
}

/**
 * A Lua script run by SHA (EVALSHA), loaded on NOSCRIPT. Not ioredis's defineCommand: inside a
 * pipeline, and so under auto-pipelining, that sends the whole script text (EVAL) on every call.
 */
class LuaScript {
  readonly sha: string;
  constructor(private readonly lua: string) {
    this.sha = createHash('sha1').update(lua).digest('hex');
  }

  async run(redis: Redis, keys: string[], args: Array<string | number>): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!String((err as Error).message).includes('NOSCRIPT')) throw err;
      // EVAL (not SCRIPT LOAD): it goes to the node that owns the keys, on Redis Cluster too, and caches
      return redis.eval(this.lua, keys.length, ...keys, ...args);
    }
  }
}

const ingest = new LuaScript(INGEST);
const ack = new LuaScript(ACK);
const replaceField = new LuaScript(REPLACE_FIELD);

export function luaCommands(redis: Redis): LuaCommands {
  return {
    ingest: (keys, args) => ingest.run(redis, keys, args) as Promise<Array<string | number>>,
    ack: (stream, backlog, group, ids) => ack.run(redis, [stream, backlog], [group, ...ids]) as Promise<number>,
    replaceField: async (hash, field, expected, next) =>
      Number(await replaceField.run(redis, [hash], [field, expected, next])) === 1,
  };
}
