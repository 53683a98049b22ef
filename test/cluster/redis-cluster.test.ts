/**
 * The local Redis Cluster test helper itself: a real 3 + 3 cluster, keys written across every
 * master, a master SIGKILLed, its replica promoted, and what `WAIT 1` acknowledged still readable.
 */
import { Cluster } from 'ioredis';
import { startRedisCluster, type RedisCluster } from '../support/redis-cluster';

let cluster: RedisCluster;
let client: Cluster;

beforeAll(async () => {
  cluster = await startRedisCluster();
  client = new Cluster(
    cluster.seeds.map((s) => ({ host: new URL(s).hostname, port: Number(new URL(s).port) })),
    { retryDelayOnFailover: 100, retryDelayOnClusterDown: 100, redisOptions: { maxRetriesPerRequest: 50 } },
  );
}, 60_000);

afterAll(async () => {
  await client?.quit();
  await cluster?.stop();
});

const KEYS = Array.from({ length: 200 }, (_, i) => `t-cluster:{k${i}}`);

test('starts 3 masters with a synced replica each, covering every slot', async () => {
  const masters = await cluster.masters();
  expect(masters).toHaveLength(3);
  expect(masters.flatMap((m) => m.slots).reduce((n, [a, b]) => n + b - a + 1, 0)).toBe(16384);
  for (const m of masters) expect(m.replicas).toHaveLength(1);
  expect(cluster.nodes.filter((n) => n.role === 'master').map((n) => n.port)).toEqual(
    expect.arrayContaining(masters.map((m) => m.port)),
  );
  expect(cluster.url.split(',')).toEqual(cluster.seeds);
  const slot = await cluster.slotOf('{devhooks:s3}:events');
  expect(slot).toBe(await cluster.slotOf('{devhooks:s3}:backlog'));
  expect((await cluster.masterForKey('{devhooks:s3}:events')).port).toBe((await cluster.masterForSlot(slot)).port);
  const streams = Array.from({ length: 16 }, (_, n) => `{devhooks:s${n}}:events`);
  const owners = await Promise.all(streams.map(async (k) => (await cluster.masterForKey(k)).port));
  const busiest = await cluster.masterOwningMost(streams);
  const held = (port: number) => owners.filter((p) => p === port).length;
  for (const m of masters) expect(held(busiest.port)).toBeGreaterThanOrEqual(held(m.port));
});

test('a key acknowledged by WAIT 1 survives SIGKILL of its master', async () => {
  for (const k of KEYS) await client.set(k, `v-${k}`);
  const owners = new Set(await Promise.all(KEYS.map(async (k) => (await cluster.masterForKey(k)).port)));
  expect(owners.size).toBe(3);

  // WAIT on the very connections that wrote: every master's writes are on its replica
  for (const node of client.nodes('master')) expect(Number(await node.call('WAIT', 1, 5000))).toBeGreaterThanOrEqual(1);

  const victim = await cluster.masterForKey(KEYS[0]);
  const [replica] = victim.replicas;
  await cluster.killNode(victim.port);
  expect(cluster.nodes.find((n) => n.port === victim.port)?.alive).toBe(false);

  const promoted = await cluster.waitForFailover(victim.port);
  expect(promoted.port).toBe(replica);
  expect(promoted.slots).toEqual(victim.slots);
  expect(cluster.nodes.find((n) => n.port === replica)?.role).toBe('master');

  const values = await Promise.all(KEYS.map((k) => client.get(k)));
  expect(values).toEqual(KEYS.map((k) => `v-${k}`));

  // the old master comes back as a replica of the promoted one
  await cluster.restartNode(victim.port);
  await cluster.waitForState(true);
  const after = await cluster.masters();
  expect(after.find((m) => m.port === replica)?.replicas).toContain(victim.port);
}, 60_000);
