// Over 250 lines on purpose: a table of the engine's small Lua scripts, one constant each, and the
// one runner that loads them by SHA; each script is documented where it stands.
/**
 * Lua scripts. Each touches keys of a single hash slot (passed in KEYS), so they run unchanged on
 * Redis Cluster.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { FIELDS } from '../log/stream-codec';

/** The Redis clock in ms (effects replication: TIME is allowed in a script that writes). */
const NOW_MS = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

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
 * Takes back entries a batch across shards appended on this shard when the batch is aborted:
 * deletes them, lowers the backlog by what was deleted, and frees their duplicate-window keys, so
 * the same events sent again are accepted. Refuses (returns -1, changes nothing) when an entry is
 * `maxAgeMs` old or older by the Redis clock: workers may soon count such an entry as committed
 * (log/batch-gate.ts), so it must stay, and keep its duplicate-window key.
 * KEYS: stream, backlog, dedupe keys. ARGV: maxAgeMs, entry ids...
 */
const UNAPPEND = `${NOW_MS}
local maxAge = tonumber(ARGV[1])
for i = 2, #ARGV do
  if now - tonumber(string.match(ARGV[i], '^(%d+)')) >= maxAge then return -1 end
end
local n = redis.call('XDEL', KEYS[1], unpack(ARGV, 2))
if n > 0 then
  local left = redis.call('DECRBY', KEYS[2], n)
  if left < 0 then redis.call('SET', KEYS[2], 0) end
end
if #KEYS > 2 then redis.call('DEL', unpack(KEYS, 3)) end
return n
`;

/*
 * Consumer-group administration as scripts: XGROUP and XINFO name their stream after a
 * subcommand, where a cluster client cannot find it, so it would send them to the wrong node.
 * A script names the stream in KEYS and runs on the node that owns it.
 */

/** Creates the group (and the stream) unless it exists. KEYS: stream. ARGV: group. Returns 1 if made. */
const GROUP_CREATE = `
if redis.call('EXISTS', KEYS[1]) == 1 then
  for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
    for i = 1, #g, 2 do
      if g[i] == 'name' and g[i + 1] == ARGV[1] then return 0 end
    end
  end
end
redis.call('XGROUP', 'CREATE', KEYS[1], ARGV[1], '0', 'MKSTREAM')
return 1
`;

/** XINFO GROUPS and, when the group exists, XINFO CONSUMERS. KEYS: stream. ARGV: group. */
const GROUP_INFO = `
if redis.call('EXISTS', KEYS[1]) == 0 then return {{}, {}} end
local groups = redis.call('XINFO', 'GROUPS', KEYS[1])
for _, g in ipairs(groups) do
  for i = 1, #g, 2 do
    if g[i] == 'name' and g[i + 1] == ARGV[1] then
      return {groups, redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])}
    end
  end
end
return {groups, {}}
`;

/**
 * A worker says it is alive: its liveness lapses `ttl` ms from now (Redis clock; 0: at once).
 * Members lapsed for a day are dropped. KEYS: liveness zset. ARGV: consumer, ttl.
 */
const LIVENESS_BEAT = `${NOW_MS}
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - 86400000)
return now`;

/**
 * Consumers of the group, other than ARGV[2], that hold pending entries and whose liveness has
 * lapsed (a consumer that never said it was alive is not listed: it is left to the claim-idle
 * time). KEYS: stream, liveness zset. ARGV: group, self.
 */
const DEAD_CONSUMERS = `${NOW_MS}
if redis.call('EXISTS', KEYS[1]) == 0 then return {} end
local consumers = redis.pcall('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])
if consumers['err'] then return {} end
local dead = {}
for _, c in ipairs(consumers) do
  local name, pending
  for i = 1, #c, 2 do
    if c[i] == 'name' then name = c[i + 1] elseif c[i] == 'pending' then pending = c[i + 1] end
  end
  if name ~= ARGV[2] and pending and pending > 0 then
    local lapses = redis.call('ZSCORE', KEYS[2], name)
    if lapses and tonumber(lapses) <= now then dead[#dead + 1] = name end
  end
end
return dead`;

/** Removes a consumer from a group. KEYS: stream. ARGV: group, consumer. */
const GROUP_FORGET = `return redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])`;

/**
 * Keeps a webhook's delivery log within its bound: drops index entries older than the TTL and the
 * oldest beyond `max`, deleting their records from their hourly buckets (the hour is in the id).
 * KEYS: index. ARGV: oldestScoreToKeep, max, bucketKeyPrefix
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

/**
 * A webhook's rate limit over all workers: a fixed one-second window on Redis's own clock (workers'
 * clocks may differ). Admits while the window has room; otherwise counts the deferral, so callers
 * can spread waiting deliveries over the windows to come instead of all retrying at once.
 * KEYS: the webhook's rate key. ARGV: limit (requests per second).
 * Returns {1, 0, 0} when admitted, else {0, ms until the next window, deferrals in this window}.
 */
const RATE_LIMIT = `
local t = redis.call('TIME')
local win = tonumber(t[1])
local ms = math.floor(tonumber(t[2]) / 1000)
local limit = tonumber(ARGV[1])
local cur = redis.call('HMGET', KEYS[1], 'w', 'n', 'd')
local n, d = 0, 0
if tonumber(cur[1]) == win then
  n = tonumber(cur[2]) or 0
  d = tonumber(cur[3]) or 0
end
if n < limit then
  redis.call('HSET', KEYS[1], 'w', win, 'n', n + 1, 'd', d)
  redis.call('PEXPIRE', KEYS[1], 5000)
  return {1, 0, 0}
end
redis.call('HSET', KEYS[1], 'w', win, 'n', n, 'd', d + 1)
redis.call('PEXPIRE', KEYS[1], 5000)
return {0, 1000 - ms, d + 1}
`;

/**
 * Makes a delayed BullMQ job show when it will run: BullMQ's moveToDelayed stores the delay from
 * the moment of the move while the job keeps the time it was added, so the dashboard (added at +
 * delay) showed a wrong time and "the new run time is currently unknown". Sets the job's `delay`
 * and `opts.delay` to run time − added time; only while the job still waits in the delayed set
 * (never recreating a job removed meanwhile). Display only: BullMQ schedules by the set's score.
 * KEYS: job hash, delayed set. ARGV: job id, run at (ms).
 */
const SHOW_RUN_AT = `
if not redis.call('ZSCORE', KEYS[2], ARGV[1]) then return 0 end
local added = tonumber(redis.call('HGET', KEYS[1], 'timestamp') or '0')
local delay = math.max(0, tonumber(ARGV[2]) - added)
local opts = cjson.decode(redis.call('HGET', KEYS[1], 'opts') or '{}')
opts['delay'] = delay
redis.call('HSET', KEYS[1], 'delay', delay, 'opts', cjson.encode(opts))
return 1
`;

/**
 * Parks deliveries an open circuit breaker turned away (delivery/parked.ts): adds them to their
 * origin's parked set, each scored by the time its retry job runs at the latest, after dropping
 * members whose time has come (their jobs run on their own). The set expires a minute after its
 * last such time, so a set nobody wakes goes away by itself.
 * KEYS: parked set. ARGV: now (ms), then per delivery: run at (ms), delivery id.
 * Returns the number of deliveries the set holds.
 */
const PARK = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1])
redis.call('ZADD', KEYS[1], unpack(ARGV, 2))
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], math.floor(tonumber(last[2])) + 60000)
return redis.call('ZCARD', KEYS[1])
`;

/**
 * Reads up to `count` parked deliveries of an origin's set, soonest first, to promote their jobs
 * (the origin answers again); members whose time has come are dropped, not returned (their jobs run
 * on their own). They stay in the set until `unpark` takes them off, after their promote: a wake
 * cut short (its process killed, Redis not answering) leaves them for the next one.
 * KEYS: parked set. ARGV: now (ms), count. Returns the deliveries read: id, run at, id, run at…
 */
const PEEK_PARKED = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1])
return redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[2]) - 1, 'WITHSCORES')
`;

/**
 * Takes woken deliveries off an origin's parked set: each only if it still has the run-at time it
 * was read with. One parked again since (its promoted job ran, was turned away again and parked
 * with a new time) stays, for the wake that its next answer brings.
 * KEYS: parked set. ARGV: per delivery: run at (ms), delivery id. Returns the number taken off.
 */
const UNPARK = `
local n = 0
for i = 1, #ARGV, 2 do
  local score = redis.call('ZSCORE', KEYS[1], ARGV[i + 1])
  if score and tonumber(score) == tonumber(ARGV[i]) then
    n = n + redis.call('ZREM', KEYS[1], ARGV[i + 1])
  end
end
return n
`;

export interface LuaCommands {
  ingest(keys: string[], args: Array<string | number>): Promise<Array<string | number>>;
  ack(stream: string, backlog: string, group: string, ids: string[]): Promise<number>;
  /** Entries deleted, or -1 when one is `maxAgeMs` old or older (then nothing is changed). */
  unappend(stream: string, backlog: string, dedupeKeys: string[], ids: string[], maxAgeMs: number): Promise<number>;
  groupCreate(stream: string, group: string): Promise<number>;
  /** XINFO GROUPS and XINFO CONSUMERS of the group (empty lists when absent). */
  groupInfo(stream: string, group: string): Promise<[unknown[][], unknown[][]]>;
  groupForget(stream: string, group: string, consumer: string): Promise<number>;
  livenessBeat(liveness: string, consumer: string, ttlMs: number): Promise<number>;
  deadConsumers(stream: string, liveness: string, group: string, self: string): Promise<string[]>;
  rateLimit(key: string, limit: number): Promise<[admitted: number, waitMs: number, deferred: number]>;
  replaceField(hash: string, field: string, expected: string, next: string): Promise<boolean>;
  showRunAt(jobKey: string, delayedKey: string, jobId: string, runAt: number): Promise<number>;
  /** Deliveries the parked set holds after adding these ([run at, delivery id] each). */
  park(parked: string, now: number, entries: Array<[runAt: number, id: string]>): Promise<number>;
  /** The set's first `count` deliveries, soonest first (left in the set). */
  peekParked(parked: string, now: number, count: number): Promise<Array<[runAt: number, id: string]>>;
  /** Deliveries taken off the set (those still holding the run-at time given). */
  unpark(parked: string, entries: Array<[runAt: number, id: string]>): Promise<number>;
}

/**
 * A Lua script run by SHA (EVALSHA), loaded on NOSCRIPT. Not ioredis's defineCommand: inside a
 * pipeline, and so under auto-pipelining, that sends the whole script text (EVAL) on every call.
 */
export class LuaScript {
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
const unappend = new LuaScript(UNAPPEND);
const groupCreate = new LuaScript(GROUP_CREATE);
const groupInfo = new LuaScript(GROUP_INFO);
const groupForget = new LuaScript(GROUP_FORGET);
const livenessBeat = new LuaScript(LIVENESS_BEAT);
const deadConsumers = new LuaScript(DEAD_CONSUMERS);
const rateLimit = new LuaScript(RATE_LIMIT);
const replaceField = new LuaScript(REPLACE_FIELD);
const showRunAt = new LuaScript(SHOW_RUN_AT);
const park = new LuaScript(PARK);
const peekParked = new LuaScript(PEEK_PARKED);
const unpark = new LuaScript(UNPARK);

export function luaCommands(redis: Redis): LuaCommands {
  return {
    ingest: (keys, args) => ingest.run(redis, keys, args) as Promise<Array<string | number>>,
    ack: (stream, backlog, group, ids) => ack.run(redis, [stream, backlog], [group, ...ids]) as Promise<number>,
    unappend: (stream, backlog, dedupeKeys, ids, maxAgeMs) =>
      unappend.run(redis, [stream, backlog, ...dedupeKeys], [maxAgeMs, ...ids]) as Promise<number>,
    groupCreate: (stream, group) => groupCreate.run(redis, [stream], [group]) as Promise<number>,
    groupInfo: (stream, group) => groupInfo.run(redis, [stream], [group]) as Promise<[unknown[][], unknown[][]]>,
    groupForget: (stream, group, consumer) => groupForget.run(redis, [stream], [group, consumer]) as Promise<number>,
    livenessBeat: (liveness, consumer, ttlMs) =>
      livenessBeat.run(redis, [liveness], [consumer, ttlMs]) as Promise<number>,
    deadConsumers: (stream, liveness, group, self) =>
      deadConsumers.run(redis, [stream, liveness], [group, self]) as Promise<string[]>,
    rateLimit: (key, limit) => rateLimit.run(redis, [key], [limit]) as Promise<[number, number, number]>,
    replaceField: async (hash, field, expected, next) =>
      Number(await replaceField.run(redis, [hash], [field, expected, next])) === 1,
    showRunAt: (jobKey, delayedKey, jobId, runAt) =>
      showRunAt.run(redis, [jobKey, delayedKey], [jobId, runAt]) as Promise<number>,
    park: (parked, now, entries) =>
      park.run(redis, [parked], [now, ...entries.flatMap(([at, id]) => [Math.ceil(at), id])]) as Promise<number>,
    peekParked: async (parked, now, count) => {
      const flat = (await peekParked.run(redis, [parked], [now, count])) as string[];
      const read: Array<[number, string]> = [];
      for (let i = 0; i < flat.length; i += 2) read.push([Number(flat[i + 1]), flat[i]]);
      return read;
    },
    unpark: (parked, entries) => unpark.run(redis, [parked], entries.flat()) as Promise<number>,
  };
}
