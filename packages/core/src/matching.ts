/** Which webhooks an event goes to (docs/contract.md §5), as a pure rule and as an index for fan-out. */
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

/**
 * The webhooks of one org, indexed by topic, then site, then group (`null` standing for "absent",
 * which no id can equal), so matching an event costs a few map lookups however many webhooks the
 * org has. Gives the same answer as `matches` over the list.
 */
export class WebhookIndex<W extends MatchableWebhook> {
  private readonly byTopic = new Map<string, Map<string | null, Map<string | null, W[]>>>();
  readonly size: number;

  constructor(webhooks: Iterable<W>) {
    let n = 0;
    for (const w of webhooks) {
      n++;
      if (!w.enabled) continue;
      for (const t of w.topics) {
        let bySite = this.byTopic.get(t);
        if (!bySite) this.byTopic.set(t, (bySite = new Map()));
        const site = w.site_id ?? null;
        let byGroup = bySite.get(site);
        if (!byGroup) bySite.set(site, (byGroup = new Map()));
        const group = w.group_id ?? null;
        const list = byGroup.get(group);
        if (list) list.push(w);
        else byGroup.set(group, [w]);
      }
    }
    this.size = n;
  }

  match(e: MatchableEvent): W[] {
    if (e.topic === 'ping') return [];
    const bySite = this.byTopic.get(e.topic);
    if (!bySite) return [];
    const out: W[] = [];
    const site = e.site_id ?? null;
    const group = e.group_id ?? null;
    for (const s of site === null ? [null] : [null, site]) {
      const byGroup = bySite.get(s);
      if (!byGroup) continue;
      for (const g of group === null ? [null] : [null, group]) {
        const list = byGroup.get(g);
        if (list) for (const w of list) out.push(w);
      }
    }
    return out;
  }
}
