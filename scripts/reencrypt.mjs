#!/usr/bin/env node
/**
 * `npm run reencrypt`: rewrites every stored webhook secret and header value under the current
 * DEVHOOKS_ENCRYPTION_KEY (plain values, and values sealed under DEVHOOKS_ENCRYPTION_KEY_OLD).
 * Idempotent and safe to run while the service runs (workers also run it at start). Exits 0 when
 * nothing is left under another key, so DEVHOOKS_ENCRYPTION_KEY_OLD may then be removed; 1 when
 * some value is sealed under a key that is not configured. See docs/decisions/0002-secrets-at-rest.md.
 */
const { loadWorkerConfig } = await import('@devhooks/worker');
const { redisKeys, SecretBox } = await import('@devhooks/core');
const { connectRedis, resealWebhookSecrets, waitForRedis } = await import('@devhooks/engine');

const say = (line) => process.stdout.write(`devhooks reencrypt: ${line}\n`);
let cfg;
try {
  cfg = loadWorkerConfig(process.env);
} catch (err) {
  say(err.message);
  process.exit(2);
}
const box = new SecretBox(cfg.encryption);
const redis = connectRedis(cfg, { name: 'devhooks-reencrypt' });
await waitForRedis(redis, 10_000);
const r = await resealWebhookSecrets(redis, redisKeys(cfg.prefix), box);
await redis.quit();
say(
  `${r.webhooks} webhooks, ${r.resealed} rewritten ${box.sealing ? `under key ${box.kid}` : 'in plain (no DEVHOOKS_ENCRYPTION_KEY)'}`,
);
if (r.unavailable) {
  say(
    `${r.unavailable} sealed under key(s) ${r.unavailableKeys.join(', ')}, which are not configured: left as they are`,
  );
  process.exit(1);
}
say('nothing is left under another key: DEVHOOKS_ENCRYPTION_KEY_OLD is no longer needed');
