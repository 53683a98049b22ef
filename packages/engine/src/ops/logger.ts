/**
 * Structured JSON logs (winston). Every line is one JSON object; context such as `event_id`,
 * `delivery_id` and `webhook_id` goes in fields. A format strips anything that looks like a secret,
 * a signature or an API key, whatever the caller passed.
 */
import winston from 'winston';

const SENSITIVE = /secret|signature|authorization|password|token|api[-_]?key|^key$/i;

const redact = winston.format((info) => {
  for (const k of Object.keys(info)) {
    if (SENSITIVE.test(k)) (info as Record<string, unknown>)[k] = '[redacted]';
  }
  return info;
});

export type Logger = winston.Logger;

export function createLogger(service: string, level = 'info'): Logger {
  return winston.createLogger({
    level,
    defaultMeta: { service },
    format: winston.format.combine(
      redact(),
      winston.format.timestamp(),
      winston.format.errors({ stack: true }),
      winston.format.json(),
    ),
    transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn'] })],
  });
}

/** A logger that writes nothing (tests). */
export function silentLogger(): Logger {
  return winston.createLogger({ silent: true, transports: [new winston.transports.Console({ silent: true })] });
}
