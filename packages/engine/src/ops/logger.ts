/**
 * Structured JSON logs (winston). Every line is one JSON object; context such as `event_id`,
 * `delivery_id` and `webhook_id` goes in fields. A format strips anything that looks like a secret,
 * a signature, an API key, a token or a header value, at any depth, whatever the caller passed
 * (core's redaction).
 */
import winston from 'winston';
import { redactField } from '@devhooks/core';

const redact = winston.format((info) => {
  const fields = info as Record<string, unknown>;
  for (const k of Object.keys(fields)) fields[k] = redactField(k, fields[k]);
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
