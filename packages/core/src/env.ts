/**
 * Reading configuration from the environment: each app declares the variables it reads as an
 * ajv schema over their raw string values; this checks them all at once and reports every problem.
 */
import type { ValidateFunction } from 'ajv';
import { ajv } from './schemas';
import { ajvDetails } from './validation';

export const DURATION_PATTERN = '^\\s*\\d+(\\.\\d+)?\\s*(ms|s|m|h|d)?\\s*$';
export const BOOLEAN_PATTERN = '^(true|false|1|0|yes|no)$';
export const INTEGER_PATTERN = '^\\d+$';

export type EnvSchema = { type: 'object'; properties: Record<string, object>; required?: string[] };

const compiled = new WeakMap<EnvSchema, ValidateFunction>();

/** The declared variables' raw values, or throws one error naming every bad one. */
export function readEnv(
  schema: EnvSchema,
  env: Record<string, string | undefined>,
): Record<string, string | undefined> {
  const raw: Record<string, string> = {};
  for (const name of Object.keys(schema.properties)) {
    const v = env[name];
    if (v !== undefined && v !== '') raw[name] = v;
  }
  let validate = compiled.get(schema);
  if (!validate) compiled.set(schema, (validate = ajv.compile(schema)));
  if (!validate(raw)) {
    const problems = ajvDetails(validate.errors).map((d) => `${d.path.slice(1) || 'environment'} ${d.message}`);
    throw new Error(`invalid configuration:\n  ${problems.join('\n  ')}`);
  }
  return raw;
}

export function envBoolean(v: string | undefined, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  return v === 'true' || v === '1' || v === 'yes';
}
