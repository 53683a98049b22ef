/**
 * The delivery log's Lua scripts: writing records with their indexes, and trimming. See
 * docs/decisions/0003-delivery-log-indexes.md.
 *
 * An index (a webhook's, `Keys.webhookDeliveries`, or an org's, `Keys.orgDeliveries`) is a ZSET
 * of delivery ids by created ms, split into facets `<index>:<facet>:<value>`: per webhook by
 * status, topic and status code (`Keys.webhookDeliveryFacet`), per org by status
 * (`Keys.orgDeliveryFacet`). Status and code facets exist for the exceptions only: `pending`,
 * `failed`, and codes other than 2xx (a listing of `succeeded` is the index minus the pending and
 * failed facets; one of a 2xx code checks records). `<index>:facets` (`Keys.webhookDeliveryFacets`) lists a webhook
 * index's facets so a trim removes ids from all of them.
 * Every key shares the control-plane hash tag; the scripts build facet and bucket names from the
 * index names they are given (as the bucket names were already), so they run on Redis Cluster.
 */
import type { ChainableCommander, Redis } from 'ioredis';
import { LuaScript } from './lua-commands';

const COMMON = `
-- the statuses and codes with a facet of their own: the exceptions. Most deliveries succeed at
-- once with a 2xx; a facet of those would double the index's cost (ZADD on write, ZREM on trim)
-- for a filter that is answered from the index minus the other facets (delivery-log-query.ts)
local STATUSES = {'pending', 'failed'}
local function statusFaceted(status) return status ~= 'succeeded' end
local function codeFaceted(code) return string.match(code, '^2%d%d$') == nil end
local function chunked(cmd, key, list)
  local n = 0
  for i = 1, #list, 4000 do n = n + redis.call(cmd, key, unpack(list, i, math.min(i + 3999, #list))) end
  return n
end
-- deletes records and every index entry of ids (all in the index); returns how many left the index
local function drop(index, org, bucketPrefix, ids)
  if #ids == 0 then return 0 end
  local byBucket = {}
  for _, id in ipairs(ids) do
    local ms = string.match(id, '^dlv_([0-9a-z]+)_')
    if ms then
      local b = bucketPrefix .. string.format('%.0f', math.floor(tonumber(ms, 36) / 3600000))
      byBucket[b] = byBucket[b] or {}
      table.insert(byBucket[b], id)
    end
  end
  for b, list in pairs(byBucket) do chunked('HDEL', b, list) end
  local facets = index .. ':facets'
  for _, f in ipairs(redis.call('SMEMBERS', facets)) do
    chunked('ZREM', index .. ':' .. f, ids)
    if redis.call('EXISTS', index .. ':' .. f) == 0 then redis.call('SREM', facets, f) end
  end
  if org ~= '' then
    chunked('ZREM', org, ids)
    for _, s in ipairs(STATUSES) do chunked('ZREM', org .. ':status:' .. s, ids) end
  end
  return chunked('ZREM', index, ids)
end
-- the oldest settled (succeeded or failed) ids of a webhook index, at most n (n <= 5000): a
-- pending record is live state (its retry job reads it), so the size bound never drops one. Walks
-- the index oldest first past pending ids, at most 4 * n + 10000 entries per call.
local function oldestSettled(index, n)
  local pending = index .. ':status:pending'
  local ids = {}
  local from, walked = 0, 0
  while #ids < n and walked < 4 * n + 10000 do
    local chunk = redis.call('ZRANGE', index, from, from + n - 1)
    if #chunk == 0 then break end
    from = from + #chunk
    walked = walked + #chunk
    local s = redis.call('ZMSCORE', pending, unpack(chunk))
    for j = 1, #chunk do
      if not s[j] and #ids < n then ids[#ids + 1] = chunk[j] end
    end
  end
  return ids
end
-- the org index's TTL bound
local function trimOrg(org, oldest)
  redis.call('ZREMRANGEBYSCORE', org, '-inf', '(' .. oldest)
  for _, s in ipairs(STATUSES) do redis.call('ZREMRANGEBYSCORE', org .. ':status:' .. s, '-inf', '(' .. oldest) end
end
-- the TTL bound, then the size bound (settled records only); the org's TTL bound is the caller's
local function trim(index, org, bucketPrefix, oldest, max)
  local dropped = drop(index, org, bucketPrefix, redis.call('ZRANGEBYSCORE', index, '-inf', '(' .. oldest, 'LIMIT', 0, 5000))
  local n = redis.call('ZCARD', index)
  if n > max then
    dropped = dropped + drop(index, org, bucketPrefix, oldestSettled(index, math.min(n - max, 5000)))
  end
  return dropped
end
`;

/**
 * Keeps the indexes of records just written in step. New records join their webhook's
 * and org's indexes and facets; an update moves a record still in its webhook's index to its new
 * status and status code facets (the topic never changes). A write of new records ends with a
 * trim, so an index never holds more than its bound after a write.
 * KEYS: per webhook group, its index and its org's index.
 * ARGV: isNew (1/0), bucketPrefix, ttlMs, max, nowMs, then per group: n, then per record:
 * id, created ms, status, status code (or `none`), topic.
 * Returns how many records the trims dropped.
 */
const WRITE_LOG = `${COMMON}
local isNew = ARGV[1] == '1'
local bucketPrefix = ARGV[2]
local ttl = tonumber(ARGV[3])
local max = tonumber(ARGV[4])
local oldest = tonumber(ARGV[5]) - ttl
local keep = ttl + 3600000
local a = 6
local dropped = 0
local function push(t, key, x, y)
  local l = t[key]
  if not l then l = {}; t[key] = l end
  l[#l + 1] = x
  if y then l[#l + 1] = y end
end
-- keys to PEXPIRE once the call is done, and orgs to trim: once each, however many groups (a
-- fan-out to 10,000 webhooks of one org is 10,000 groups)
local expire, orgs = {}, {}
-- which of ids (positions pos) are members of key: sets in[pos] = true
local function members(key, ids, pos, into)
  for i = 1, #ids, 4000 do
    local last = math.min(i + 3999, #ids)
    local s = redis.call('ZMSCORE', key, unpack(ids, i, last))
    for j = 1, #s do if s[j] then into[pos[i + j - 1]] = true end end
  end
end
for g = 1, #KEYS / 2 do
  local index, org = KEYS[2 * g - 1], KEYS[2 * g]
  local statusPrefix, orgStatusPrefix = index .. ':status:', org .. ':status:'
  local n = tonumber(ARGV[a])
  local first = a + 1
  a = first + n * 5
  -- ids already indexed (an update, or a new record written again) may move between facets
  local ids, present = {}, {}
  for i = 0, n - 1 do ids[#ids + 1] = ARGV[first + i * 5] end
  for i = 1, #ids, 4000 do
    local s = redis.call('ZMSCORE', index, unpack(ids, i, math.min(i + 3999, #ids)))
    for j = 1, #s do present[i + j - 1] = s[j] end
  end
  local adds, rems, facets = {}, {}, {}
  local byStatus, byCode = {}, {}
  for i = 1, n do
    local b = first + (i - 1) * 5
    local id, ms, status, code, topic = ARGV[b], ARGV[b + 1], ARGV[b + 2], ARGV[b + 3], ARGV[b + 4]
    if isNew then
      push(adds, index, ms, id)
      push(adds, org, ms, id)
      push(adds, index .. ':topic:' .. topic, ms, id)
      facets['topic:' .. topic] = true
    end
    if present[i] then
      if statusFaceted(status) then push(byStatus, statusPrefix .. status, id, i) end
      if codeFaceted(code) then push(byCode, index .. ':code:' .. code, id, i) end
    end
  end
  -- an indexed id already in its status (code) facet stays where it is
  local inStatus, inCode = {}, {}
  for _, pair in ipairs({ { byStatus, inStatus }, { byCode, inCode } }) do
    for key, list in pairs(pair[1]) do
      local kids, pos = {}, {}
      for j = 1, #list, 2 do kids[#kids + 1] = list[j]; pos[#pos + 1] = list[j + 1] end
      members(key, kids, pos, pair[2])
    end
  end
  local codes
  for i = 1, n do
    local b = first + (i - 1) * 5
    local id, status, code = ARGV[b], ARGV[b + 2], ARGV[b + 3]
    local score = present[i] or (isNew and ARGV[b + 1])
    if score and not inStatus[i] then
      if present[i] then
        for _, s in ipairs(STATUSES) do
          if s ~= status then push(rems, statusPrefix .. s, id); push(rems, orgStatusPrefix .. s, id) end
        end
      end
      if statusFaceted(status) then
        push(adds, statusPrefix .. status, score, id)
        push(adds, orgStatusPrefix .. status, score, id)
        facets['status:' .. status] = true
      end
    end
    if score and not inCode[i] then
      if present[i] then
        if not codes then codes = redis.call('SMEMBERS', index .. ':facets') end
        for _, f in ipairs(codes) do
          if string.sub(f, 1, 5) == 'code:' and f ~= 'code:' .. code then push(rems, index .. ':' .. f, id) end
        end
      end
      if codeFaceted(code) then
        push(adds, index .. ':code:' .. code, score, id)
        facets['code:' .. code] = true
      end
    end
  end
  for key, list in pairs(rems) do chunked('ZREM', key, list) end
  for key, args in pairs(adds) do
    chunked('ZADD', key, args)
    expire[key] = true
  end
  local names = {}
  for f in pairs(facets) do names[#names + 1] = f end
  if #names > 0 then
    redis.call('SADD', index .. ':facets', unpack(names))
    expire[index .. ':facets'] = true
  end
  if isNew then
    dropped = dropped + trim(index, org, bucketPrefix, oldest, max)
    orgs[org] = true
  end
end
for key in pairs(expire) do redis.call('PEXPIRE', key, keep) end
for org in pairs(orgs) do trimOrg(org, oldest) end
return dropped
`;

/**
 * Keeps a webhook's delivery log within its bounds (TTL and size), records and facets included.
 * KEYS: index. ARGV: bucketPrefix, oldestScoreToKeep, max, org index (or '').
 */
const TRIM_LOG = `${COMMON}
local dropped = trim(KEYS[1], ARGV[4], ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]))
if ARGV[4] ~= '' then trimOrg(ARGV[4], tonumber(ARGV[2])) end
return dropped
`;

const writeLog = new LuaScript(WRITE_LOG);

/** Write-script calls queued in a pipeline: where, and with what, to run one again on NOSCRIPT. */
const queuedCalls = new WeakMap<
  ChainableCommander,
  Array<{ at: number; keys: string[]; args: Array<string | number> }>
>();

/**
 * Queues the write script into a pipeline, by SHA: its text (~6 KB) sent with every commit cost
 * the worker more than the script's work when commits are small (writeUtf8String was 16 % of a
 * worker's busy time with four hanging receivers). Run the pipeline with `execWithLogScripts`,
 * which runs a call again with the script's text when Redis did not have it (NOSCRIPT: a
 * restarted or newly promoted node). The write is idempotent, so running it again is safe.
 */
export function queueWriteLog(p: ChainableCommander, keys: string[], args: Array<string | number>): void {
  const at = (p as unknown as { length: number }).length;
  p.evalsha(writeLog.sha, keys.length, ...keys, ...args);
  let calls = queuedCalls.get(p);
  if (!calls) queuedCalls.set(p, (calls = []));
  calls.push({ at, keys, args });
}

/** `p.exec()`, with every write-script call Redis had no script for run again with its text. */
export async function execWithLogScripts(redis: Redis, p: ChainableCommander): Promise<Array<[Error | null, unknown]>> {
  const results = ((await p.exec()) ?? []) as Array<[Error | null, unknown]>;
  for (const c of queuedCalls.get(p) ?? []) {
    const err = results[c.at]?.[0];
    if (err && String(err.message).includes('NOSCRIPT'))
      results[c.at] = [null, await writeLog.run(redis, c.keys, c.args)];
  }
  return results;
}

export async function trimLog(
  redis: Redis,
  index: string,
  orgIndex: string,
  bucketPrefix: string,
  oldest: number,
  max: number,
): Promise<number> {
  return Number(await redis.eval(TRIM_LOG, 1, index, bucketPrefix, oldest, max, orgIndex));
}
