/** The shared settings of the observability variables: tracing off by default, the in-flight label bound. */
import {
  appEnvSchema,
  ENV_VALUE,
  loadConfig,
  readEnv,
  sharedSettings,
  SHARED_ENV_PROPERTIES,
  type EnvSchema,
} from './env';

const schema: EnvSchema = { type: 'object', properties: SHARED_ENV_PROPERTIES };
const settings = (env: Record<string, string>) => sharedSettings(readEnv(schema, env));

describe('observability settings', () => {
  it('tracing is off and 20 origins keep their series when nothing is set', () => {
    const s = settings({});
    expect(s.tracing).toEqual({ endpoint: undefined, serviceName: undefined });
    expect(s.metricsTopOrigins).toBe(20);
  });

  it('reads the OTLP endpoint, the service name and the origin bound', () => {
    const s = settings({
      OTEL_EXPORTER_OTLP_ENDPOINT: ' http://127.0.0.1:4318 ',
      OTEL_SERVICE_NAME: 'hooks-eu',
      DEVHOOKS_METRICS_TOP_ORIGINS: '5',
    });
    expect(s.tracing).toEqual({ endpoint: 'http://127.0.0.1:4318', serviceName: 'hooks-eu' });
    expect(s.metricsTopOrigins).toBe(5);
  });

  it('refuses an endpoint that is not an http(s) URL and a bound of 0, naming each', () => {
    expect(() =>
      settings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318', DEVHOOKS_METRICS_TOP_ORIGINS: '0' }),
    ).toThrow(
      /OTEL_EXPORTER_OTLP_ENDPOINT[\s\S]*DEVHOOKS_METRICS_TOP_ORIGINS|DEVHOOKS_METRICS_TOP_ORIGINS[\s\S]*OTEL_EXPORTER_OTLP_ENDPOINT/,
    );
  });
});

describe('loadConfig: an app config built on the shared settings', () => {
  const appSchema = appEnvSchema({ APP_PORT: ENV_VALUE.integer, APP_WAIT: ENV_VALUE.duration });
  const load = (env: Record<string, string>) =>
    loadConfig(appSchema, env, (e) => {
      const port = e.int('APP_PORT', 8080);
      if (port > 65535) e.problem('APP_PORT must be at most 65535');
      const waitMs = e.ms('APP_WAIT', '2s');
      if (waitMs > e.shared.deliveryTimeoutMs) e.problem('APP_WAIT must not pass DEVHOOKS_DELIVERY_TIMEOUT');
      return { ...e.shared, port, waitMs };
    });

  it('applies defaults: its own and the shared ones', () => {
    const c = load({});
    expect(c).toMatchObject({ port: 8080, waitMs: 2_000, prefix: 'devhooks', deliveryTimeoutMs: 15_000 });
  });

  it('reports every cross-variable problem in one error', () => {
    expect(() => load({ APP_PORT: '70000', APP_WAIT: '20s' })).toThrow(
      'invalid configuration:\n  APP_PORT must be at most 65535\n  APP_WAIT must not pass DEVHOOKS_DELIVERY_TIMEOUT',
    );
  });

  it('refuses a malformed value before building anything, naming it', () => {
    expect(() => load({ APP_WAIT: 'soon' })).toThrow(/APP_WAIT/);
  });
});
