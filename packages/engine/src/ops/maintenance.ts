/**
 * Periodic upkeep, one worker at a time (a short lease): trims the event stream to what is still
 * needed (unacknowledged entries, retries on schedule, the delivery log's bodies, and the events of
 * deliveries still in an ordered chain, however long they have been held) and forgets
 * consumers that died holding nothing.
 */
import { CONSUMER_GROUP } from '@devhooks/core';
import { luaCommands } from '../redis/lua-commands';
import type { EngineContext } from '../runtime/engine-context';

/** Stream ids compare as (ms, seq). */
export function compareIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(Number);
  const [bm, bs] = b.split('-').map(Number);
  return am - bm || as - bs;
}

export interface MaintenanceOptions {
  shard: number;
  consumer: string;
  /** Events older than this are dropped once nothing needs them (log TTL, retry horizon). */
  retentionMs: number;
  /** A consumer idle this long with nothing pending is removed from the group. */
  deadConsumerMs: number;
}

export async function maintain(ctx: EngineContext, o: MaintenanceOptions): Promise<{ trimmed: number } | undefined> {
  const { redis, keys } = ctx;
  const shard = keys.shard(o.shard);
  const lease = await redis.set(shard.trimLease, o.consumer, 'PX', 20_000, 'NX');
  if (!lease) return undefined;
  const stream = shard.stream;
  let minKeep = `${Date.now() - o.retentionMs}-0`;
  const lua = luaCommands(redis);
  const [groups, consumers] = await lua.groupInfo(stream, CONSUMER_GROUP);
  let found = false;
  for (const g of groups) {
    const info: Record<string, unknown> = {};
    for (let i = 0; i + 1 < g.length; i += 2) info[String(g[i])] = g[i + 1];
    if (info.name !== CONSUMER_GROUP) continue;
    found = true;
    const last = String(info['last-delivered-id'] ?? '0-0');
    if (compareIds(last, minKeep) < 0) minKeep = last;
  }
  if (!found) return undefined; // no group yet: every entry is still unread
  const pending = (await redis.xpending(stream, CONSUMER_GROUP).catch(() => null)) as
    [number, string | null, string | null, unknown] | null;
  if (pending && pending[0] > 0 && pending[1] && compareIds(pending[1], minKeep) < 0) minKeep = pending[1];
  // ordered delivery: a delivery held behind a head that retries for days still needs its event
  const oldestChained = await redis.zrange(shard.orderChained, 0, 0, 'WITHSCORES');
  if (oldestChained.length && compareIds(`${oldestChained[1]}-0`, minKeep) < 0) minKeep = `${oldestChained[1]}-0`;
  const trimmed = Number(await redis.xtrim(stream, 'MINID', '~', minKeep));
  // settled ordered deliveries of entries that can no longer be read again need no tombstone
  await redis.zremrangebyscore(shard.orderDone, '-inf', `(${minKeep.split('-')[0]}`);

  for (const c of consumers) {
    const info: Record<string, unknown> = {};
    for (let i = 0; i + 1 < c.length; i += 2) info[String(c[i])] = c[i + 1];
    if (Number(info.pending) === 0 && Number(info.idle) > o.deadConsumerMs && info.name !== o.consumer) {
      await lua.groupForget(stream, CONSUMER_GROUP, String(info.name));
    }
  }
  return { trimmed };
}
