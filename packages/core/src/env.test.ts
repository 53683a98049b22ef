/** The shared settings of the observability variables: tracing off by default, the in-flight label bound. */
import { readEnv, sharedSettings, SHARED_ENV_PROPERTIES, type EnvSchema } from './env';

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
