/**
 * The devhooks API client: `new DevhooksClient({ baseUrl, token })`, then `client.events.send(...)`,
 * `client.webhooks.create(...)`, `client.deliveries.list(...)` and so on. Uses the global fetch
 * (Node 20+, browsers); every non-2xx answer throws a DevhooksError with the API's code and details.
 */
import { fillPath, ROUTES, type RouteName } from './routes';
import type * as T from './types';

export interface ClientOptions {
  /** e.g. `http://127.0.0.1:8080` */
  baseUrl: string;
  /** An org API key (or the root token for orgs and keys). */
  token: string;
  /** Another fetch (tests, proxies); default: the global one. */
  fetch?: typeof fetch;
  /** Per-request timeout in ms (default 30 s). */
  timeoutMs?: number;
}

/** A non-2xx answer: `{"error": {"code", "message", "details"}}` of the API. */
export class DevhooksError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: T.ErrorDetail[] = [],
    /** Seconds, from `Retry-After` (429, 503). */
    readonly retryAfter?: number,
  ) {
    super(message);
    this.name = 'DevhooksError';
  }
}

type Query = Record<string, string | number | boolean | undefined | null>;

interface CallOptions {
  params?: Record<string, string>;
  query?: Query;
  body?: unknown;
}

export class DevhooksClient {
  private readonly base: string;
  private readonly doFetch: typeof fetch;

  constructor(private readonly options: ClientOptions) {
    this.base = options.baseUrl.replace(/\/+$/, '');
    this.doFetch = options.fetch ?? ((...args) => fetch(...args));
  }

  /** One call of the routes table; resolves with the parsed JSON (undefined for 204). */
  async call<R>(route: RouteName, o: CallOptions = {}): Promise<R> {
    const [method, template] = ROUTES[route].split(' ');
    let url = this.base + fillPath(template, o.params ?? {});
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(o.query ?? {}))
      if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
    if (q.size) url += `?${q}`;
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.options.token}`,
      accept: 'application/json',
    };
    if (o.body !== undefined) headers['content-type'] = 'application/json';
    const res = await this.doFetch(url, {
      method,
      headers,
      body: o.body === undefined ? undefined : JSON.stringify(o.body),
      signal: AbortSignal.timeout(this.options.timeoutMs ?? 30_000),
    });
    const text = await res.text();
    let parsed: any;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (!res.ok) {
      const e = parsed?.error ?? {};
      const retry = Number(res.headers.get('retry-after'));
      throw new DevhooksError(
        res.status,
        e.code ?? 'http_error',
        e.message ?? `${method} ${template}: HTTP ${res.status}`,
        e.details ?? [],
        Number.isFinite(retry) && retry > 0 ? retry : undefined,
      );
    }
    return parsed as R;
  }

  /** The org, role, id and name of this client's key. */
  whoami(): Promise<T.Whoami> {
    return this.call('whoami');
  }

  readonly events = {
    /** One event, or many (at most 1000 and 1 MiB, checked whole: one bad event rejects all). */
    send: (events: T.Event | T.Event[]): Promise<T.EventsAccepted> =>
      this.call('sendEvents', { body: Array.isArray(events) ? { events } : events }),
  };

  readonly eventTypes = {
    list: async (): Promise<T.EventTypeInfo[]> => (await this.call<T.EventTypeList>('listEventTypes')).event_types,
  };

  readonly webhooks = {
    create: (input: T.WebhookInput): Promise<T.WebhookCreated> => this.call('createWebhook', { body: input }),
    /** All or nothing. */
    createMany: async (inputs: T.WebhookInput[]): Promise<T.WebhookCreated[]> =>
      (await this.call<{ webhooks: T.WebhookCreated[] }>('createWebhook', { body: { webhooks: inputs } })).webhooks,
    list: (query: T.WebhookQuery = {}): Promise<T.WebhookList> => this.call('listWebhooks', { query: { ...query } }),
    get: (id: string): Promise<T.Webhook> => this.call('getWebhook', { params: { id } }),
    /** Partial (PATCH): only the fields given change. */
    update: (id: string, fields: T.WebhookPatch): Promise<T.Webhook> =>
      this.call('patchWebhook', { params: { id }, body: fields }),
    /** Full replace (PUT); an absent secret keeps the old one. */
    replace: (id: string, input: T.WebhookInput): Promise<T.Webhook> =>
      this.call('replaceWebhook', { params: { id }, body: input }),
    delete: async (id: string): Promise<void> => {
      await this.call('deleteWebhook', { params: { id } });
    },
    deleteMany: async (ids: string[]): Promise<void> => {
      const body: T.WebhookIds = { webhook_ids: ids };
      await this.call('deleteWebhooks', { body });
    },
    ping: (id: string): Promise<T.PingResult> => this.call('pingWebhook', { params: { id } }),
    rotateSecret: (id: string, o: T.RotateSecret = {}): Promise<T.RotatedSecret> =>
      this.call('rotateSecret', { params: { id }, body: o }),
    /** One new attempt now for every failed delivery of the webhook created in the window. */
    recover: (id: string, window: T.RecoverWindow): Promise<T.RecoverAccepted> =>
      this.call('recoverWebhook', { params: { id }, body: window }),
    /** Delivers the window's matching events to the webhook again (same webhook-id as the first time). */
    replay: (id: string, window: T.ReplayWindow): Promise<T.ReplayAccepted> =>
      this.call('replayWebhook', { params: { id }, body: window }),
    deliveries: (id: string, query: T.DeliveryQuery = {}): Promise<T.DeliveryList> =>
      this.call('listWebhookDeliveries', { params: { id }, query: { ...query } }),
  };

  readonly deliveries = {
    /** The whole org's delivery log, newest first; `webhook_id` narrows it to one webhook. */
    list: (query: T.DeliveryQuery & { webhook_id?: string } = {}): Promise<T.DeliveryList> => {
      const { webhook_id, ...rest } = query;
      return webhook_id
        ? this.webhooks.deliveries(webhook_id, rest)
        : this.call('listDeliveries', { query: { ...rest } });
    },
    get: (id: string): Promise<T.DeliveryDetail> => this.call('getDelivery', { params: { id } }),
    retry: (id: string): Promise<T.RetryAccepted> => this.call('retryDelivery', { params: { id } }),
  };

  readonly keys = {
    list: async (orgId: string): Promise<T.ApiKey[]> =>
      (await this.call<T.ApiKeyList>('listKeys', { params: { org_id: orgId } })).keys,
    /** The key itself is in the answer, this once. */
    create: (orgId: string, o: T.ApiKeyCreate): Promise<T.ApiKeyCreated> =>
      this.call('createKey', { params: { org_id: orgId }, body: o }),
    revoke: async (orgId: string, keyId: string): Promise<void> => {
      await this.call('revokeKey', { params: { org_id: orgId, key_id: keyId } });
    },
  };

  readonly orgs = {
    /** Root token only. */
    create: (name: string): Promise<T.Org> => this.call('createOrg', { body: { name } satisfies T.OrgCreate }),
    /** Root token only. */
    list: async (): Promise<T.Org[]> => (await this.call<T.OrgList>('listOrgs')).orgs,
    get: (id: string): Promise<T.Org> => this.call('getOrg', { params: { org_id: id } }),
  };
}
