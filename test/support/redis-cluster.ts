/**
 * A local Redis Cluster for tests, from the `redis-server` and `redis-cli` binaries on PATH (Redis ≥ 7):
 * by default 3 masters + 3 replicas on consecutive free loopback ports from a random base in
 * 12000–22000, each checked free with its cluster bus port (port + 10000), so all stay below the
 * ephemeral range 32768+ (another base is tried if a port is taken at start); each node in a temp
 * dir of its own, joined with `redis-cli --cluster create … --cluster-replicas 1 --cluster-yes`.
 * Resolves once every node says `cluster_state:ok`, serves all 16384 slots and every replica is
 * synced. Tests need no port range of their own: each cluster takes free ports as it starts.
 *
 *   const cluster = await startRedisCluster();
 *   const client = new Cluster(cluster.seeds.map((u) => new URL(u)).map((u) => ({ host: u.hostname, port: +u.port })));
 *   const owner = await cluster.masterForKey('{devhooks:s3}:events');
 *   await cluster.killNode(owner.port);               // SIGKILL
 *   const promoted = await cluster.waitForFailover(owner.port);
 *   await cluster.stop();                             // in afterAll; also done on process exit
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import {
  checkBinaries,
  everyCluster,
  freeBasePort,
  installExitHook,
  launch,
  removeNodes,
  type RedisClusterNode,
  type RedisClusterOptions,
  type Running,
} from './redis-cluster-nodes';
import {
  CLUSTER_SLOTS,
  clusterHealth,
  clusterMasters,
  keySlot,
  nodeRole,
  ownerOfSlot,
  pollUntil,
  replicaLinkUp,
  type ClusterMaster,
} from './redis-cluster-topology';

export type { ClusterMaster } from './redis-cluster-topology';
export type { RedisClusterNode, RedisClusterOptions } from './redis-cluster-nodes';

export interface RedisCluster {
  /** One `redis://127.0.0.1:<port>` URL per node. */
  seeds: string[];
  /** The seeds, comma-separated (the form of DEVHOOKS_REDIS_URL in cluster mode). */
  url: string;
  nodes: RedisClusterNode[];
  /** Masters and their slot ranges and replicas (CLUSTER NODES of a live node). */
  masters(): Promise<ClusterMaster[]>;
  /** The hash slot of a key (CLUSTER KEYSLOT). */
  slotOf(key: string): Promise<number>;
  /** The master serving a slot; throws when none does. */
  masterForSlot(slot: number): Promise<ClusterMaster>;
  /** The master serving a key's slot. */
  masterForKey(key: string): Promise<ClusterMaster>;
  /** The master serving the most of these keys (e.g. the shard streams: the one to kill in a failover test). */
  masterOwningMost(keys: string[]): Promise<ClusterMaster>;
  /** Sends `signal` (default SIGKILL) to a node and waits until its process has exited. */
  killNode(port: number, signal?: NodeJS.Signals): Promise<void>;
  /** Starts a killed node again in its own dir (same nodes.conf: it rejoins) and waits until it answers. */
  restartNode(port: number): Promise<void>;
  /**
   * ok=true: every live node says cluster_state:ok, serves all slots, knows every node, agrees with
   * the others on masters, slots and replicas, and every live replica is synced. ok=false: some live
   * node says the cluster is down.
   */
  waitForState(ok: boolean, timeoutMs?: number): Promise<void>;
  /**
   * After killNode(master): waits until every live node sees the dead master's slots served by
   * another node (its replica, promoted) and the cluster is ok; resolves with the new owner.
   */
  waitForFailover(deadMasterPort: number, timeoutMs?: number): Promise<ClusterMaster>;
  /** Kills every node and removes the temp dirs (also done on process exit). */
  stop(): Promise<void>;
}

export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisCluster> {
  checkBinaries();
  const o: Required<RedisClusterOptions> = {
    masters: 3,
    replicasPerMaster: 1,
    appendonly: false,
    fsyncAlways: false,
    nodeTimeoutMs: 1000,
    startTimeoutMs: 30_000,
    ...options,
  };
  const count = o.masters * (1 + o.replicasPerMaster);
  installExitHook();
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const base = await freeBasePort(count);
    const running: Running[] = [];
    everyCluster.add(running);
    try {
      for (let i = 0; i < count; i++) {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), `devhooks-cluster-${base + i}-`));
        running.push({ node: { port: base + i, pid: -1, role: 'master', alive: false, dir } });
      }
      await Promise.all(running.map((r) => launch(r, o)));
      return await formCluster(running, o);
    } catch (err) {
      // a port taken between the check and the start, most likely: try another base
      lastError = err;
      removeNodes(running);
    }
  }
  throw lastError;
}

async function formCluster(running: Running[], o: Required<RedisClusterOptions>): Promise<RedisCluster> {
  const nodes = running.map((r) => r.node);
  const create = spawnSync(
    'redis-cli',
    [
      '--cluster',
      'create',
      ...nodes.map((n) => `127.0.0.1:${n.port}`),
      '--cluster-replicas',
      String(o.replicasPerMaster),
      '--cluster-yes',
    ],
    { encoding: 'utf8', timeout: o.startTimeoutMs },
  );
  if (create.status !== 0) {
    throw new Error(`redis-cli --cluster create failed (${create.status}):\n${create.stdout}\n${create.stderr}`);
  }
  const byPort = (port: number): Running => {
    const r = running.find((x) => x.node.port === port);
    if (!r) throw new Error(`redis cluster: no node on port ${port}`);
    return r;
  };
  const live = () => nodes.filter((n) => n.alive);
  const killedSlots = new Map<number, number>();

  const masters = async (): Promise<ClusterMaster[]> => {
    let lastError: unknown;
    for (const n of live()) {
      try {
        const ms = await clusterMasters(n.port);
        const masterPorts = new Set(ms.map((m) => m.port));
        for (const x of live()) x.role = masterPorts.has(x.port) ? 'master' : 'replica';
        return ms;
      } catch (err) {
        lastError = err;
      }
    }
    throw new Error(`redis cluster: no live node answers CLUSTER NODES (${String(lastError)})`);
  };
  const slotOf = (key: string) => keySlot(live()[0].port, key);
  const masterForSlot = async (slot: number) => {
    const m = ownerOfSlot(await masters(), slot);
    if (!m) throw new Error(`redis cluster: no master serves slot ${slot}`);
    return m;
  };
  const healthy = async (): Promise<boolean> => {
    const views = new Set<string>();
    for (const n of live()) {
      const h = await clusterHealth(n.port);
      if (!h.ok || h.slotsOk !== CLUSTER_SLOTS || h.knownNodes !== nodes.length) return false;
      if ((await nodeRole(n.port)) === 'replica' && !(await replicaLinkUp(n.port))) return false;
      // every node agrees on who serves what (a restarted master first claims its old slots)
      views.add(JSON.stringify((await clusterMasters(n.port)).map((m) => [m.port, m.slots, m.replicas.sort()])));
    }
    return views.size === 1;
  };
  const waitForState = async (ok: boolean, timeoutMs = 20_000) => {
    await pollUntil(`cluster state ${ok ? 'ok' : 'fail'}`, timeoutMs, async () => {
      if (ok) return (await healthy()) || undefined;
      for (const n of live()) if (!(await clusterHealth(n.port)).ok) return true;
      return undefined;
    });
  };

  const cluster: RedisCluster = {
    seeds: nodes.map((n) => `redis://127.0.0.1:${n.port}`),
    get url() {
      return this.seeds.join(',');
    },
    nodes,
    masters,
    slotOf,
    masterForSlot,
    masterForKey: async (key) => masterForSlot(await slotOf(key)),
    async masterOwningMost(keys) {
      const ms = await masters();
      const count = new Map<number, number>();
      for (const k of keys) {
        const m = ownerOfSlot(ms, await slotOf(k));
        if (m) count.set(m.port, (count.get(m.port) ?? 0) + 1);
      }
      const [port] = [...count].sort((a, b) => b[1] - a[1])[0] ?? [];
      const m = ms.find((x) => x.port === port);
      if (!m) throw new Error('redis cluster: no master serves any of these keys');
      return m;
    },
    async killNode(port, signal = 'SIGKILL') {
      const r = byPort(port);
      if (!r.node.alive) return;
      const owned = (await masters().catch(() => [])).find((m) => m.port === port);
      if (owned) killedSlots.set(port, owned.slots[0][0]);
      r.child?.kill(signal);
      await r.exited;
    },
    async restartNode(port) {
      const r = byPort(port);
      if (r.node.alive) throw new Error(`redis cluster: node ${port} is running`);
      await launch(r, o);
    },
    waitForState,
    async waitForFailover(deadMasterPort, timeoutMs = 20_000) {
      const slot = killedSlots.get(deadMasterPort);
      if (slot === undefined) throw new Error(`redis cluster: ${deadMasterPort} was not a master killed by killNode`);
      const owner = await pollUntil(`failover of ${deadMasterPort}`, timeoutMs, async () => {
        let seen: ClusterMaster | undefined;
        for (const n of live()) {
          const m = ownerOfSlot(await clusterMasters(n.port), slot);
          if (!m || m.port === deadMasterPort || (seen && seen.port !== m.port)) return undefined;
          seen = m;
        }
        return seen;
      });
      await pollUntil(`cluster state ok after failover of ${deadMasterPort}`, timeoutMs, async () => {
        for (const n of live()) {
          const h = await clusterHealth(n.port);
          if (!h.ok || h.slotsOk !== CLUSTER_SLOTS) return undefined;
        }
        return true;
      });
      await masters();
      return owner;
    },
    async stop() {
      for (const r of running) if (r.node.alive) r.child?.kill('SIGKILL');
      await Promise.all(running.map((r) => r.exited));
      removeNodes(running);
    },
  };
  await waitForState(true, o.startTimeoutMs);
  await masters();
  return cluster;
}
