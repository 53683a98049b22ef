/** Orgs and their API keys (docs/contract.md §2). Keys are stored only as SHA-256 hashes. */
import type { Redis } from 'ioredis';
import { hashApiKey, newApiKey, newId, type Keys, type Role } from '@devhooks/core';

export interface Org {
  id: string;
  name: string;
  created_at: string;
}

export interface ApiKeyInfo {
  id: string;
  name: string;
  role: Role;
  created_at: string;
}

/** What a presented key resolves to. */
export interface Principal {
  key_id: string;
  org_id: string;
  role: Role;
}

interface StoredKey extends ApiKeyInfo {
  hash: string;
}

export class OrgStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  async createOrg(name: string): Promise<Org> {
    const org: Org = { id: newId('org'), name, created_at: new Date().toISOString() };
    await this.redis.hset(this.keys.orgs, org.id, JSON.stringify(org));
    return org;
  }

  async getOrg(id: string): Promise<Org | undefined> {
    const raw = await this.redis.hget(this.keys.orgs, id);
    return raw ? (JSON.parse(raw) as Org) : undefined;
  }

  async listOrgs(): Promise<Org[]> {
    const all = await this.redis.hvals(this.keys.orgs);
    return all
      .map((r) => JSON.parse(r) as Org)
      .sort((a, b) => a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id));
  }

  /** Creates a key; the returned `key` is the only time the secret exists outside the caller. */
  async createKey(org: string, name: string, role: Role): Promise<ApiKeyInfo & { key: string }> {
    const key = newApiKey();
    const stored: StoredKey = {
      id: newId('key'),
      name,
      role,
      created_at: new Date().toISOString(),
      hash: hashApiKey(key),
    };
    const principal: Principal = { key_id: stored.id, org_id: org, role };
    await this.redis
      .multi()
      .hset(this.keys.orgKeys(org), stored.id, JSON.stringify(stored))
      .set(this.keys.apiKey(stored.hash), JSON.stringify(principal))
      .exec();
    const { hash: _hash, ...info } = stored;
    return { ...info, key };
  }

  async listKeys(org: string): Promise<ApiKeyInfo[]> {
    const all = await this.redis.hvals(this.keys.orgKeys(org));
    return all
      .map((r) => {
        const { hash: _hash, ...info } = JSON.parse(r) as StoredKey;
        return info;
      })
      .sort((a, b) => a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id));
  }

  /** Revokes a key at once; false when the org has no such key. */
  async deleteKey(org: string, keyId: string): Promise<boolean> {
    const raw = await this.redis.hget(this.keys.orgKeys(org), keyId);
    if (!raw) return false;
    const stored = JSON.parse(raw) as StoredKey;
    await this.redis.multi().del(this.keys.apiKey(stored.hash)).hdel(this.keys.orgKeys(org), keyId).exec();
    return true;
  }

  /** The principal a presented API key stands for, if any. */
  async resolveKey(presented: string): Promise<Principal | undefined> {
    const raw = await this.redis.get(this.keys.apiKey(hashApiKey(presented)));
    return raw ? (JSON.parse(raw) as Principal) : undefined;
  }
}
