/** Which webhooks an event goes to (contract §5), as a pure rule and as an index for fan-out. */
import type { DeliveryTopic, Topic } from './topics';

export interface MatchableWebhook {
  id: string;
  topics: readonly Topic[];
  site_id?: string | null;
  group_id?: string | null;
  enabled: boolean;
}

export interface MatchableEvent {
  topic: DeliveryTopic;
  site_id?: string | null;
  group_id?: string | null;
}

/** Enabled, subscribed to the topic, and site and group each absent or equal. */
export function matches(w: MatchableWebhook, e: MatchableEvent): boolean {
  if (!w.enabled || e.topic === 'ping') return false;
  if (!(w.topics as readonly string[]).includes(e.topic)) return false;
  if (w.site_id != null && w.site_id !== e.site_id) return false;
  if (w.group_id != null && w.group_id !== e.group_id) return false;
  return true;
}

const ANY = '\u0000*';
const slot = (topic: string, site: string, group: string) => `${topic}\u0001${site}\u0001${group}`;

/**
 * The webhooks of one org, indexed by (topic, site, group) so matching an event costs four map
 * lookups however many webhooks the org has. Gives the same answer as `matches` over the list.
 */
export class WebhookIndex<W extends MatchableWebhook> {
  private readonly slots = new Map<string, W[]>();
  readonly size: number;

  constructor(webhooks: Iterable<W>) {
    let n = 0;
    for (const w of webhooks) {
      n++;
      if (!w.enabled) continue;
      for (const t of w.topics) {
        const k = slot(t, w.site_id ?? ANY, w.group_id ?? ANY);
        const list = this.slots.get(k);
        if (list) list.push(w);
        else this.slots.set(k, [w]);
      }
    }
    this.size = n;
  }

  match(e: MatchableEvent): W[] {
    if (e.topic === 'ping') return [];
    const site = e.site_id ?? undefined;
    const group = e.group_id ?? undefined;
    const keys = [slot(e.topic, ANY, ANY)];
    if (site !== undefined) keys.push(slot(e.topic, site, ANY));
    if (group !== undefined) keys.push(slot(e.topic, ANY, group));
    if (site !== undefined && group !== undefined) keys.push(slot(e.topic, site, group));
    const out: W[] = [];
    for (const k of keys) {
      const list = this.slots.get(k);
      if (list) for (const w of list) out.push(w);
    }
    return out;
  }
}
