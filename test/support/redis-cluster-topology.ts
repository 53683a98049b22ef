/**
 * Questions asked of one node of a local Redis Cluster (see redis-cluster.ts): who owns which slot,
 * is the cluster healthy, what is the slot of a key. Each call opens a short-lived connection, so a
 * dead node answers with an error at once instead of a client's reconnect loop.
 */
import net from 'node:net';
import Redis from 'ioredis';

export const CLUSTER_SLOTS = 16384;

export interface ClusterMaster {
  port: number;
  id: string;
  /** Slot ranges it serves, `[first, last]` inclusive. */
  slots: Array<[number, number]>;
  /** Ports of its replicas (failed ones included), as the asked node sees them. */
  replicas: number[];
}

export interface ClusterHealth {
  /** `cluster_state:ok`. */
  ok: boolean;
  /** `cluster_slots_ok` (16384 when every slot is served by a master that is not failing). */
  slotsOk: number;
  knownNodes: number;
}

/** Runs one command on the node at `port` (127.0.0.1) and disconnects. */
export async function nodeCommand(port: number, command: string, ...args: Array<string | number>): Promise<unknown> {
  const r = new Redis({
    host: '127.0.0.1',
    port,
    lazyConnect: true,
    connectTimeout: 1000,
    commandTimeout: 2000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  r.on('error', () => undefined);
  try {
    await r.connect();
    return await r.call(command, ...args);
  } finally {
    r.disconnect();
  }
}

/**
 * Whether the node answers PING. A bare socket, not ioredis: a refused connect must leave no timer
 * behind (ioredis keeps its connect timeout armed for a while, which holds jest open).
 */
export function nodeAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(1000, () => done(false));
    s.once('error', () => done(false));
    s.once('connect', () => s.write('PING\r\n'));
    s.once('data', (d) => done(d.toString().startsWith('+PONG')));
  });
}

function infoField(info: string, field: string): string | undefined {
  const m = new RegExp(`^${field}:(.*)$`, 'm').exec(info);
  return m?.[1].trim();
}

export async function clusterHealth(port: number): Promise<ClusterHealth> {
  const info = String(await nodeCommand(port, 'CLUSTER', 'INFO'));
  return {
    ok: infoField(info, 'cluster_state') === 'ok',
    slotsOk: Number(infoField(info, 'cluster_slots_ok') ?? 0),
    knownNodes: Number(infoField(info, 'cluster_known_nodes') ?? 0),
  };
}

/** The node's role from `ROLE`: `master` or `replica` (Redis says `slave`). */
export async function nodeRole(port: number): Promise<'master' | 'replica'> {
  const role = (await nodeCommand(port, 'ROLE')) as unknown[];
  return role[0] === 'master' ? 'master' : 'replica';
}

/** For a replica: whether its link to its master is up (it has synced and receives the stream). */
export async function replicaLinkUp(port: number): Promise<boolean> {
  const info = String(await nodeCommand(port, 'INFO', 'replication'));
  return infoField(info, 'master_link_status') === 'up';
}

/**
 * The masters, their slots and replicas as the node at `port` sees them, ordered by first slot.
 * From `CLUSTER NODES`, not `CLUSTER SLOTS`: Redis 7 leaves a replica out of CLUSTER SLOTS until its
 * replication offset moves (first write or ping), so a fresh cluster would show none.
 * A master that failed but was not replaced yet is still listed as the owner of its slots.
 */
export async function clusterMasters(port: number): Promise<ClusterMaster[]> {
  const lines = String(await nodeCommand(port, 'CLUSTER', 'NODES'))
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => l.trim().split(' '));
  const portOf = (address: string) => Number(/:(\d+)@/.exec(address)?.[1] ?? NaN);
  const masters: ClusterMaster[] = [];
  for (const [id, address, flags, , , , , , ...slots] of lines) {
    if (!flags.split(',').includes('master')) continue;
    const ranges = slots
      .filter((s) => !s.startsWith('[')) // [slot->-id] / [slot-<-id]: migrating, importing
      .map((s) => s.split('-').map(Number))
      .map(([a, b]) => [a, b ?? a] as [number, number]);
    if (!ranges.length) continue;
    const replicas = lines
      .filter(([, , f, masterId]) => masterId === id && f.split(',').includes('slave'))
      .map(([, a]) => portOf(a));
    masters.push({ port: portOf(address), id, slots: ranges.sort((x, y) => x[0] - y[0]), replicas });
  }
  return masters.sort((a, b) => a.slots[0][0] - b.slots[0][0]);
}

/** The hash slot of a key (`CLUSTER KEYSLOT`: hash tags included). */
export async function keySlot(port: number, key: string): Promise<number> {
  return Number(await nodeCommand(port, 'CLUSTER', 'KEYSLOT', key));
}

/** The master that serves `slot`, or undefined when none does. */
export function ownerOfSlot(masters: ClusterMaster[], slot: number): ClusterMaster | undefined {
  return masters.find((m) => m.slots.some(([a, b]) => slot >= a && slot <= b));
}

/** Polls `check` every 50 ms until it returns a value that is not undefined; throws after `timeoutMs`. */
export async function pollUntil<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (true) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`redis cluster: ${what} not reached within ${timeoutMs} ms${last ? ` (${String(last)})` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
