/**
 * Which parts of a stored webhook are secrets at rest: its `secret` and every `headers` value
 * (header names stay readable). Each is sealed with its own context, the webhook id and the field,
 * so a sealed value copied elsewhere does not open.
 */
import type { SecretBox } from './secret-box';
import type { Webhook } from './webhooks';

function secretContext(webhookId: string): string {
  return `webhook/${webhookId}/secret`;
}

function headerContext(webhookId: string, name: string): string {
  return `webhook/${webhookId}/header/${name}`;
}

function mapSecrets(w: Webhook, f: (value: string, context: string) => string): Webhook {
  const out: Webhook = { ...w };
  if (w.secret) out.secret = f(w.secret, secretContext(w.id));
  if (w.headers) {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(w.headers)) headers[name] = f(value, headerContext(w.id, name));
    out.headers = headers;
  }
  return out;
}

/** The webhook as stored: its secret and header values sealed (plain when no key is set). */
export function sealWebhook(w: Webhook, box: SecretBox): Webhook {
  return mapSecrets(w, (v, c) => box.seal(v, c));
}

/** The webhook as used: its secret and header values opened. */
export function openWebhook(stored: Webhook, box: SecretBox): Webhook {
  return mapSecrets(stored, (v, c) => box.open(v, c));
}

/** Whether any secret of a stored webhook is not in its target form (see `SecretBox.needsReseal`). */
export function webhookNeedsReseal(stored: Webhook, box: SecretBox): boolean {
  if (stored.secret && box.needsReseal(stored.secret)) return true;
  return Object.values(stored.headers ?? {}).some((v) => box.needsReseal(v));
}
