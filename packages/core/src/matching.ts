/** Which webhooks an event goes to (docs/contract.md §5), as a pure rule and as an index for fan-out. */
import { compileFilter, filterSubject, type CompiledFilter, type FilterSubject, type WebhookFilter } from './filters';
import type { DeliveryTopic, Topic } from './topics';

export interface MatchableWebhook {
  id: string;
  topics: readonly Topic[];
  site_id?: string | null;
  group_id?: string | null;
  enabled: boolean;
  /** Optional conditions on the event's type and data (contract §9). */
  filter?: WebhookFilter | null;
}

export interface MatchableEvent {
  topic: DeliveryTopic;
  site_id?: string | null;
  group_id?: string | null;
  /** The event's type and serialized data: needed only by webhooks with a filter. */
  type?: string;
  data?: string;
}

function subjectOf(e: MatchableEvent): FilterSubject {
  return filterSubject({ type: e.type ?? '', data: e.data ?? 'null' });
}

/** Enabled, subscribed to the topic, site and group each absent or equal, and its filter holds. */
export function matches(w: MatchableWebhook, e: MatchableEvent): boolean {
  if (!w.enabled || e.topic === 'ping') return false;
  if (!(w.topics as readonly string[]).includes(e.topic)) return false;
  if (w.site_id != null && w.site_id !== e.site_id) return false;
  if (w.group_id != null && w.group_id !== e.group_id) return false;
  if (w.filter && !compileFilter(w.filter)(subjectOf(e))) return false;
  return true;
}

/** A webhook in the index, with its filter compiled once (none: no cost at match time). */
interface Entry<W> {
  w: W;
  filter?: CompiledFilter;
}

/**
 * The webhooks of one org, indexed by topic, then site, then group (`null` standing for "absent",
 * which no id can equal), so matching an event costs a few map lookups however many webhooks the
 * org has. Gives the same answer as `matches` over the list.
 */
export class WebhookIndex<W extends MatchableWebhook> {
  private readonly byTopic = new Map<string, Map<string | null, Map<string | null, Array<Entry<W>>>>>();
  readonly size: number;

  constructor(webhooks: Iterable<W>) {
    let n = 0;
    for (const w of webhooks) {
      n++;
      if (!w.enabled) continue;
      const entry: Entry<W> = w.filter ? { w, filter: compileFilter(w.filter) } : { w };
      for (const t of w.topics) {
        let bySite = this.byTopic.get(t);
        if (!bySite) this.byTopic.set(t, (bySite = new Map()));
        const site = w.site_id ?? null;
        let byGroup = bySite.get(site);
        if (!byGroup) bySite.set(site, (byGroup = new Map()));
        const group = w.group_id ?? null;
        const list = byGroup.get(group);
        if (list) list.push(entry);
        else byGroup.set(group, [entry]);
      }
    }
    this.size = n;
  }

  match(e: MatchableEvent): W[] {
    if (e.topic === 'ping') return [];
    const bySite = this.byTopic.get(e.topic);
    if (!bySite) return [];
    const out: W[] = [];
    let subject: FilterSubject | undefined; // built on the first filter met: the data is parsed once
    const site = e.site_id ?? null;
    const group = e.group_id ?? null;
    for (const s of site === null ? [null] : [null, site]) {
      const byGroup = bySite.get(s);
      if (!byGroup) continue;
      for (const g of group === null ? [null] : [null, group]) {
        const list = byGroup.get(g);
        if (!list) continue;
        for (const x of list) {
          if (x.filter && !x.filter((subject ??= subjectOf(e)))) continue;
          out.push(x.w);
        }
      }
    }
    return out;
  }
}
