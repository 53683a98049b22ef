/**
 * The oldest entry of a shard's stream not yet acknowledged by the consumer group: the smallest id
 * XPENDING reports, or, when nothing is pending, the first entry past the group's last-delivered-id
 * (accepted, not read yet). One keyed script (XINFO names its stream after a subcommand, where a
 * cluster client cannot route it; a script runs on the node that owns KEYS[1]).
 */
import type { Redis } from 'ioredis';
import { entryTime } from '../log/stream-codec';
import { LuaScript } from './lua-commands';

/** KEYS: stream. ARGV: group. Returns the entry id, or '' when every entry is acknowledged. */
const OLDEST_UNACKED = `
if redis.call('EXISTS', KEYS[1]) == 0 then return '' end
local last = nil
for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
  local name, delivered = nil, nil
  for i = 1, #g, 2 do
    if g[i] == 'name' then name = g[i + 1] end
    if g[i] == 'last-delivered-id' then delivered = g[i + 1] end
  end
  if name == ARGV[1] then last = delivered end
end
local from = '-'
if last then
  local p = redis.call('XPENDING', KEYS[1], ARGV[1])
  if p[1] > 0 then return p[2] end
  from = '(' .. last
end
local first = redis.call('XRANGE', KEYS[1], from, '+', 'COUNT', 1)
if #first == 0 then return '' end
return first[1][1]
`;

const oldestUnacked = new LuaScript(OLDEST_UNACKED);

/** The id of the oldest entry the group has not acknowledged ('' when none; every entry when no group yet). */
export async function oldestUnackedId(redis: Redis, stream: string, group: string): Promise<string> {
  return String(await oldestUnacked.run(redis, [stream], [group]));
}

/** Seconds since the oldest unacknowledged entry was appended (0 when none). */
export async function oldestPendingAgeSeconds(redis: Redis, stream: string, group: string, now = Date.now()) {
  const id = await oldestUnackedId(redis, stream, group);
  return id ? Math.max(0, (now - entryTime(id)) / 1000) : 0;
}
