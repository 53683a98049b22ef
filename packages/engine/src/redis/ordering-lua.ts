// Over 250 lines on purpose: the scripts of ordered delivery share one Lua prelude (watermark walk,
// chain state) and are read together; split, the prelude would be copied or hidden in another file.
/**
 * The Lua scripts of ordered delivery (docs/decisions/0007-ordered-delivery.md). Every key they
 * touch lives in one event-stream shard's slot (`{prefix:sN}`), so each step is one script on one
 * slot and runs unchanged on Redis Cluster.
 *
 * A chain is a ZSET (all scores 0) of members `<padded entry id>|<delivery id>`, in acceptance
 * order; a member re-inserted at the end by a retry by hand reads `<padded last stream id>~|<id>`
 * (`~` sorts after `|`, so after every member keyed by that same entry). Its head is the one
 * delivery of the chain that may be attempted, once the shard's planned watermark has reached it.
 */
import type { Redis } from 'ioredis';
import { LuaScript } from './lua-commands';

/**
 * Helpers shared by the scripts. `advance` walks the stream from the watermark over entries that
 * are planned (in the planned SET) or were acknowledged without being planned (read by the group,
 * no longer pending: an entry with no ordered delivery, or one acknowledged before ordering was
 * built), and stops at the first entry that is unread, or pending and not yet planned.
 * KEYS[1] stream, KEYS[2] planned, KEYS[3] watermark.
 */
const PRELUDE = `
local function pad(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  if not ms then return id end
  return string.rep('0', 15 - #ms) .. ms .. '-' .. string.rep('0', 10 - #seq) .. seq
end
local function keyOf(member)
  local k = string.match(member, '^([^|]*)|') or ''
  return (string.gsub(k, '~$', ''))
end
local function idOf(member) return string.match(member, '|(.*)$') end
local function advance(group, budget)
  local wm = redis.call('GET', KEYS[3]) or '0-0'
  local start = wm
  local lastRead, minPending
  local stop = false
  while not stop and budget > 0 do
    local batch = redis.call('XRANGE', KEYS[1], '(' .. wm, '+', 'COUNT', 100)
    if #batch == 0 then break end
    for _, e in ipairs(batch) do
      local id = e[1]
      if redis.call('SREM', KEYS[2], id) == 0 then
        if not lastRead then
          lastRead = '0-0'
          local ok, groups = pcall(redis.call, 'XINFO', 'GROUPS', KEYS[1])
          if ok then
            for _, g in ipairs(groups) do
              local name, last
              for i = 1, #g, 2 do
                if g[i] == 'name' then name = g[i + 1] elseif g[i] == 'last-delivered-id' then last = g[i + 1] end
              end
              if name == group then lastRead = last end
            end
          end
          local ok2, summary = pcall(redis.call, 'XPENDING', KEYS[1], group)
          minPending = (ok2 and summary[2]) and pad(summary[2]) or false
        end
        local p = pad(id)
        if p > pad(lastRead) then stop = true break end
        if minPending and p >= minPending and #redis.call('XPENDING', KEYS[1], group, id, id, 1) > 0 then
          stop = true
          break
        end
      end
      wm = id
      budget = budget - 1
      if budget <= 0 then break end
    end
  end
  if wm ~= start then redis.call('SET', KEYS[3], wm) end
  return wm
end
-- the redis clock (ms)
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
-- the live worker, other than me, attempting this delivery now, or nil. going: id -> 'consumer|lease
-- end (ms)'; liveness: consumer -> lapse time. An owner whose liveness lapsed is dead; one whose
-- lease ended can no longer be sending (its attempt is bounded).
local function busyOwner(going, liveness, id, me)
  local v = redis.call('HGET', going, id)
  if not v then return nil end
  local owner, ends = string.match(v, '^(.*)|(%d+)$')
  if not owner then owner, ends = v, '0' end
  if owner == me then return nil end
  local t = nowMs()
  if tonumber(ends) <= t then return nil end
  if tonumber(redis.call('ZSCORE', liveness, owner) or '0') > t then return owner end
  return nil
end
-- this worker attempts the delivery now, for at most leaseMs
local function takeOver(going, id, me, leaseMs)
  redis.call('HSET', going, id, me .. '|' .. (nowMs() + tonumber(leaseMs)))
end
-- the state of a chained delivery: head and reached by the watermark: go; head: wait; else held
local function stateOf(chain, id, member, wm, now)
  local first = redis.call('ZRANGE', chain, 0, 0)[1]
  if first == member then
    if keyOf(member) <= pad(wm) then
      redis.call('ZREM', KEYS[6], id)
      return 'go'
    end
    return 'wait'
  end
  local rank = redis.call('ZRANK', chain, member)
  if not rank then return 'free' end
  local before = redis.call('ZRANGE', chain, rank - 1, rank - 1)[1]
  redis.call('ZADD', KEYS[6], 'NX', now, id)
  return 'held:' .. idOf(before)
end
`;

/**
 * Marks a batch's entries planned, inserts its ordered deliveries into their chains (NX), fails the
 * oldest held ones of a chain past the bound, advances the watermark and says what each of the
 * batch's ordered deliveries may do.
 * KEYS: stream, planned, watermark, members, chained, held, chain-of, done, going, liveness, chains...
 * ARGV: group, holdMax, now, budget, consumer, lease ms, n marks, marks..., then per delivery: chain index
 * (from 1, into the chains), member, delivery id, entry ms.
 * A head planned again (its entry claimed) while the worker told to attempt it is still alive
 * (its liveness has not lapsed: it was only slow to say so) is `busy`: that worker is on it.
 * Returns {watermark, {state per delivery}, {overflowed delivery ids}}.
 */
const ORDER_PLAN = `${PRELUDE}
local group, holdMax, now, me, leaseMs = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[5], ARGV[6]
local nMarks = tonumber(ARGV[7])
local wm0 = pad(redis.call('GET', KEYS[3]) or '0-0')
for i = 8, 7 + nMarks do
  if pad(ARGV[i]) > wm0 then redis.call('SADD', KEYS[2], ARGV[i]) end
end
local wm = advance(group, tonumber(ARGV[4]))
local base = 8 + nMarks
local list = {}
local touched = {}
for i = base, #ARGV, 4 do
  local chain = KEYS[10 + tonumber(ARGV[i])]
  local member, id = ARGV[i + 1], ARGV[i + 2]
  if redis.call('ZSCORE', KEYS[8], id) then
    -- it already left its chain (settled): a re-planned entry never puts it back
    list[#list + 1] = {chain, id, true}
  else
    local again = true
    if redis.call('HSETNX', KEYS[4], id, member) == 1 then
      again = false
      redis.call('HSET', KEYS[7], id, chain)
      redis.call('ZADD', KEYS[5], ARGV[i + 3], id)
      redis.call('ZADD', chain, 'NX', 0, member)
    end
    list[#list + 1] = {chain, id, false, again}
    touched[chain] = true
  end
end
local overflowed = {}
for chain in pairs(touched) do
  local excess = redis.call('ZCARD', chain) - holdMax
  if excess > 0 then
    for _, m in ipairs(redis.call('ZRANGE', chain, 1, excess)) do
      local id = idOf(m)
      redis.call('ZREM', chain, m)
      redis.call('HDEL', KEYS[4], id)
      redis.call('HDEL', KEYS[7], id)
      redis.call('ZADD', KEYS[8], redis.call('ZSCORE', KEYS[5], id) or 0, id)
      redis.call('ZREM', KEYS[5], id)
      redis.call('ZREM', KEYS[6], id)
      overflowed[#overflowed + 1] = id
    end
  end
end
local states = {}
for i, x in ipairs(list) do
  local member = redis.call('HGET', KEYS[4], x[2])
  if x[3] then states[i] = 'done'
  elseif member then states[i] = stateOf(x[1], x[2], member, wm, now)
  else states[i] = 'overflow' end
  if states[i] == 'go' then
    if x[4] and busyOwner(KEYS[9], KEYS[10], x[2], me) then
      states[i] = 'busy'
    else
      takeOver(KEYS[9], x[2], me, leaseMs)
    end
  end
end
return {wm, states, overflowed}
`;

/**
 * The gate of one delivery (a retry job, or a check again): its state, after advancing the
 * watermark; `done` when it has left its chain for good, `free` when it was never in one, `busy`
 * when it may go but another live worker is still attempting it (it looks again shortly). Clears
 * its released mark (its job runs); a `go` makes this worker the one attempting it.
 * KEYS: stream, planned, watermark, members, released, held, chain, done, going, liveness. ARGV:
 * group, delivery id, now, budget, consumer, lease ms.
 */
const ORDER_GATE = `${PRELUDE}
redis.call('ZREM', KEYS[5], ARGV[2])
local member = redis.call('HGET', KEYS[4], ARGV[2])
if not member then
  if redis.call('ZSCORE', KEYS[8], ARGV[2]) then return 'done' end
  return 'free'
end
local wm = advance(ARGV[1], tonumber(ARGV[4]))
local state = stateOf(KEYS[7], ARGV[2], member, wm, ARGV[3])
if state == 'go' then
  if busyOwner(KEYS[9], KEYS[10], ARGV[2], ARGV[5]) then return 'busy' end
  takeOver(KEYS[9], ARGV[2], ARGV[5], ARGV[6])
end
return state
`;

/**
 * A chained delivery settled for good: removed from its chain. When the new head is held, it is
 * marked released (swept by workers until its job runs) and returned, for its job to be added.
 * Refused while another live worker is attempting it (taken for dead, this worker settled it
 * late): that worker's attempt may still reach the receiver, so the chain moves on only when it
 * settles (`force`: the record is gone, nothing is left to send). Safe to repeat.
 * KEYS: members, chained, held, released, chain, chain-of, done, going, liveness. ARGV: delivery id,
 * now, consumer, force (1/0).
 * Returns {1, new head or false} when released, {0, owner} when refused.
 */
const ORDER_RELEASE = `${PRELUDE}
local id = ARGV[1]
local member = redis.call('HGET', KEYS[1], id)
if member then
  if ARGV[4] ~= '1' then
    local owner = busyOwner(KEYS[8], KEYS[9], id, ARGV[3])
    if owner then return {0, owner} end
  end
  redis.call('ZREM', KEYS[5], member)
  redis.call('HDEL', KEYS[1], id)
  redis.call('HDEL', KEYS[6], id)
  redis.call('ZADD', KEYS[7], redis.call('ZSCORE', KEYS[2], id) or 0, id)
  redis.call('HDEL', KEYS[8], id)
  redis.call('ZREM', KEYS[2], id)
  redis.call('ZREM', KEYS[3], id)
end
local head = redis.call('ZRANGE', KEYS[5], 0, 0)[1]
if not head then return {1, false} end
local hid = string.match(head, '|(.*)$')
if redis.call('ZSCORE', KEYS[3], hid) then
  redis.call('ZADD', KEYS[4], ARGV[2], hid)
  return {1, hid}
end
return {1, false}
`;

/**
 * Attempts that ended without settling their delivery (put off to the retry queue): this worker
 * no longer attempts them, so a gate or a release elsewhere need not wait for it.
 * KEYS: going. ARGV: consumer, delivery ids...
 */
const ORDER_LET_GO = `
local n = 0
for i = 2, #ARGV do
  local v = redis.call('HGET', KEYS[1], ARGV[i])
  if v and string.match(v, '^(.*)|') == ARGV[1] then n = n + redis.call('HDEL', KEYS[1], ARGV[i]) end
end
return n
`;

/**
 * A delivery tried again by hand after it left its chain: inserted at the chain's end, keyed after
 * the stream's last entry, so it never goes ahead of deliveries already sent after it.
 * KEYS: stream, members, chained, chain, chain-of, done. ARGV: delivery id, entry ms. Returns the member.
 */
const ORDER_REINSERT = `${PRELUDE}
local old = redis.call('HGET', KEYS[2], ARGV[1])
if old then return old end
redis.call('ZREM', KEYS[6], ARGV[1])
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)[1]
local member = pad(last and last[1] or '0-0') .. '~|' .. ARGV[1]
redis.call('ZADD', KEYS[4], 0, member)
redis.call('HSET', KEYS[2], ARGV[1], member)
redis.call('HSET', KEYS[5], ARGV[1], KEYS[4])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
return member
`;

/** The delivery just before one in its chain, or false. KEYS: members, chain. ARGV: delivery id. */
const ORDER_HELD_BY = `
local member = redis.call('HGET', KEYS[1], ARGV[1])
if not member then return false end
local rank = redis.call('ZRANK', KEYS[2], member)
if not rank or rank == 0 then return false end
local before = redis.call('ZRANGE', KEYS[2], rank - 1, rank - 1)[1]
return string.match(before, '|(.*)$')
`;

/** The scripts, each run by SHA (LuaScript). */
const SCRIPTS = {
  plan: new LuaScript(ORDER_PLAN),
  gate: new LuaScript(ORDER_GATE),
  release: new LuaScript(ORDER_RELEASE),
  letGo: new LuaScript(ORDER_LET_GO),
  reinsert: new LuaScript(ORDER_REINSERT),
  heldBy: new LuaScript(ORDER_HELD_BY),
};

/** The shard keys the scripts use (keys.shard(n)). */
export interface OrderShardKeys {
  stream: string;
  orderPlanned: string;
  orderWatermark: string;
  orderMembers: string;
  orderHeld: string;
  orderChainOf: string;
  orderDone: string;
  orderGoing: string;
  liveness: string;
  orderChained: string;
  orderReleased: string;
}

export interface PlannedDelivery {
  chain: string;
  member: string;
  id: string;
  entryMs: number;
}

/** The consumer named in a chain head's `going` value (`consumer|lease end`). */
export function attemptingConsumer(going: string | null): string | undefined {
  if (!going) return undefined;
  const bar = going.lastIndexOf('|');
  return bar < 0 ? going : going.slice(0, bar);
}

/** Entries walked over at most per call (bounds one script's time). */
const WALK_BUDGET = 2_000;

export function orderingLua(redis: Redis) {
  return {
    async plan(
      k: OrderShardKeys,
      group: string,
      o: {
        holdMax: number;
        now: number;
        consumer: string;
        leaseMs: number;
        marks: string[];
        deliveries: PlannedDelivery[];
      },
    ): Promise<{ watermark: string; states: string[]; overflowed: string[] }> {
      const chains = [...new Set(o.deliveries.map((d) => d.chain))];
      const index = new Map(chains.map((c, i) => [c, i + 1]));
      const args: Array<string | number> = [
        group,
        o.holdMax,
        o.now,
        WALK_BUDGET,
        o.consumer,
        o.leaseMs,
        o.marks.length,
        ...o.marks,
      ];
      for (const d of o.deliveries) args.push(index.get(d.chain)!, d.member, d.id, d.entryMs);
      const keys = [
        k.stream,
        k.orderPlanned,
        k.orderWatermark,
        k.orderMembers,
        k.orderChained,
        k.orderHeld,
        k.orderChainOf,
        k.orderDone,
        k.orderGoing,
        k.liveness,
        ...chains,
      ];
      const [watermark, states, overflowed] = (await SCRIPTS.plan.run(redis, keys, args)) as [
        string,
        string[],
        string[],
      ];
      return { watermark, states, overflowed };
    },
    gate: async (
      k: OrderShardKeys,
      group: string,
      chain: string,
      id: string,
      o: { now: number; consumer: string; leaseMs: number },
    ) =>
      String(
        await SCRIPTS.gate.run(
          redis,
          [
            k.stream,
            k.orderPlanned,
            k.orderWatermark,
            k.orderMembers,
            k.orderReleased,
            k.orderHeld,
            chain,
            k.orderDone,
            k.orderGoing,
            k.liveness,
          ],
          [group, id, o.now, WALK_BUDGET, o.consumer, o.leaseMs],
        ),
      ),
    /** `released`: left its chain (with the new head to enqueue, if held); else `owner` is still at it. */
    release: async (
      k: OrderShardKeys,
      chain: string,
      id: string,
      o: { now: number; consumer: string; force?: boolean },
    ): Promise<{ released: true; head?: string } | { released: false; owner: string }> => {
      const [ok, x] = (await SCRIPTS.release.run(
        redis,
        [
          k.orderMembers,
          k.orderChained,
          k.orderHeld,
          k.orderReleased,
          chain,
          k.orderChainOf,
          k.orderDone,
          k.orderGoing,
          k.liveness,
        ],
        [id, o.now, o.consumer, o.force ? 1 : 0],
      )) as [number, string | null];
      return ok ? (x ? { released: true, head: x } : { released: true }) : { released: false, owner: String(x) };
    },
    letGo: async (k: Pick<OrderShardKeys, 'orderGoing'>, consumer: string, ids: string[]) =>
      Number(await SCRIPTS.letGo.run(redis, [k.orderGoing], [consumer, ...ids])),
    reinsert: async (k: OrderShardKeys, chain: string, id: string, entryMs: number) =>
      String(
        await SCRIPTS.reinsert.run(
          redis,
          [k.stream, k.orderMembers, k.orderChained, chain, k.orderChainOf, k.orderDone],
          [id, entryMs],
        ),
      ),
    heldBy: async (k: Pick<OrderShardKeys, 'orderMembers'>, chain: string, id: string) =>
      ((await SCRIPTS.heldBy.run(redis, [k.orderMembers, chain], [id])) ?? undefined) as string | undefined,
  };
}
