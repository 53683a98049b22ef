/**
 * Readiness through a failover (docs/contract.md §1, §7): on a local Redis Cluster (3 masters,
 * 3 replicas, cluster-node-timeout 5 s so the time without a master is long enough to see), the
 * API's GET /readyz answers 503 while the master of a slot it needs is dead and its replica has not
 * taken over, and 200 again once the replica serves the slot, with the same API process.
 */
import { redisKeys } from '@devhooks/core';
import { ROOT } from '../support/api';
import { clusterBackend } from '../support/backend';
import { baseEnv, startApiProcess, type Proc } from '../support/processes';
import { eventually } from '../support/receiver';
import { testPrefix } from '../support/redis';
import { ownerOfSlot } from '../support/redis-cluster-topology';

jest.setTimeout(180_000);

const prefix = testPrefix(__filename);
const backend = clusterBackend({ nodeTimeoutMs: 5_000 });
let api: Proc;
let base: string;

beforeAll(async () => {
  await backend.start();
  const started = await startApiProcess({ ...baseEnv(prefix, { DEVHOOKS_ADMIN_TOKEN: ROOT }), ...backend.env() });
  api = started.proc;
  base = started.base;
});
afterAll(async () => {
  await api?.kill('SIGKILL');
  await backend.stop(prefix);
});

/** GET /readyz's status (0 when the API did not answer within 5 s). */
async function readyz(): Promise<number> {
  try {
    return (await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(5_000) })).status;
  } catch {
    return 0;
  }
}

it('/readyz is 503 while a needed slot has no master, and 200 again after the failover', async () => {
  const cluster = backend.cluster!;
  expect(await readyz()).toBe(200);
  // the master of shard 0's slot (a slot readiness probes)
  const slot = await cluster.slotOf(redisKeys(prefix).shard(0).stream);
  const victim = await cluster.masterForSlot(slot);
  await cluster.killNode(victim.port, 'SIGKILL');

  // 503, seen while the cluster still names the dead node as the slot's master (no failover yet)
  const seen = await eventually(
    async () => {
      const status = await readyz();
      if (status !== 503) return undefined;
      const owner = ownerOfSlot(await cluster.masters(), slot);
      return owner?.port === victim.port ? { status, owner: owner.port } : undefined;
    },
    60_000,
    100,
  );
  expect(seen).toEqual({ status: 503, owner: victim.port });

  const promoted = await cluster.waitForFailover(victim.port, 60_000);
  expect(promoted.port).not.toBe(victim.port);
  expect(promoted.slots.some(([a, b]) => slot >= a && slot <= b)).toBe(true);
  expect(await eventually(async () => ((await readyz()) === 200 ? 200 : undefined), 60_000, 250)).toBe(200);
  // the same API process all along
  expect(api.child.exitCode).toBeNull();
  expect(api.child.signalCode).toBeNull();
});
