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
 * Keeps a webhook's delivery log within its bound: drops index entries older than the TTL and the
 * oldest beyond `max`, deleting their records from their hourly buckets (the hour is in the id).
 * KEYS: index. ARGV: oldestScoreToKeep, max, bucketKeyPrefix
 */
const TRIM_LOG = `
local function drop(ids)
  for _, id in ipairs(ids) do
    local ms = tonumber(string.match(id, '^dlv_([0-9a-z]+)_'), 36)
    if ms then redis.call('HDEL', ARGV[3] .. math.floor(ms / 3600000), id) end
  end
  if #ids > 0 then return redis.call('ZREM', KEYS[1], unpack(ids)) end
  return 0
end
local dropped = drop(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1], 'LIMIT', 0, 1000))
local n = redis.call('ZCARD', KEYS[1])
local max = tonumber(ARGV[2])
if n > max then
  dropped = dropped + drop(redis.call('ZRANGE', KEYS[1], 0, math.min(n - max, 1000) - 1))
end
return dropped
`;

/**
 * Filters delivery records where they are (the console's and the API's filtered delivery-log
 * pages), so a scan moves ids, not records: the records' top-level `status`, `topic` and
 * `status_code` come before `attempt_log` (see newRecord), and JSON escapes every quote inside a
 * string value, so the first `"status":"…"` (and so on) of a record is its own.
 * KEYS: the hourly bucket of each id. ARGV: status, topic, status_code ('' = any), skip, take, ids...
 * Returns {matches, ids of the matches from the skip-th, at most take}.
 */
const FILTER_LOG = `
local status, topic, code = ARGV[1], ARGV[2], ARGV[3]
local skip, take = tonumber(ARGV[4]), tonumber(ARGV[5])
-- the first occurrence of '"<field>":' (a plain search, no pattern) followed by the wanted value
local function has(raw, field, value, quoted)
  if value == '' then return true end
  local needle = '"' .. field .. '":' .. (quoted and '"' or '')
  local p = string.find(raw, needle, 1, true)
  if not p then return false end
  local from = p + #needle
  local after = string.sub(raw, from + #value, from + #value)
  return string.sub(raw, from, from + #value - 1) == value and after == (quoted and '"' or after) and
    (quoted or after == ',' or after == '}')
end
local matched, page = 0, {}
for i = 1, #KEYS do
  local id = ARGV[5 + i]
  local raw = redis.call('HGET', KEYS[i], id)
  if raw and has(raw, 'status', status, true) and has(raw, 'topic', topic, true)
    and has(raw, 'status_code', code, false) then
    if matched >= skip and #page < take then page[#page + 1] = id end
    matched = matched + 1
  end
end
return {matched, page}
`;

export interface LuaCommands {
  ingest(keys: string[], args: Array<string | number>): Promise<Array<string | number>>;
  ack(stream: string, backlog: string, group: string, ids: string[]): Promise<number>;
  trimLog(index: string, oldestScoreToKeep: number, max: number, bucketPrefix: string): Promise<number>;
  filterLog(buckets: string[], args: Array<string | number>): Promise<[number, string[]]>;
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
const trimLog = new LuaScript(TRIM_LOG);
const filterLog = new LuaScript(FILTER_LOG);

export function luaCommands(redis: Redis): LuaCommands {
  return {
    ingest: (keys, args) => ingest.run(redis, keys, args) as Promise<Array<string | number>>,
    ack: (stream, backlog, group, ids) => ack.run(redis, [stream, backlog], [group, ...ids]) as Promise<number>,
    trimLog: (index, oldest, max, prefix) => trimLog.run(redis, [index], [oldest, max, prefix]) as Promise<number>,
    filterLog: (buckets, args) => filterLog.run(redis, buckets, args) as Promise<[number, string[]]>,
  };
}
