/**
 * The one vocabulary of delivery errors: what a delivery record's `error` and an attempt's `error`
 * say (docs/contract.md §3, §6). The sender produces the network ones, the attempt adds the policy ones,
 * the retry path the terminal ones, and HTTP answers read `http_<status>`.
 */

/** The receiver could not be reached: these count towards the origin's circuit breaker. */
export const UNREACHABLE_ERRORS = [
  'timeout',
  'connection_refused',
  'connection_reset',
  'dns_error',
  'network_error',
  'tls_error',
] as const;
export type UnreachableError = (typeof UNREACHABLE_ERRORS)[number];

/** Refused by our own policy before connecting: retrying cannot change the answer. */
export const POLICY_ERRORS = ['blocked_address', 'invalid_url'] as const;
export type PolicyError = (typeof POLICY_ERRORS)[number];

/** Not attempted: the origin's breaker is open. Counts as an attempt (docs/contract.md §6 schedule). */
export type BreakerError = 'circuit_open';

/** A delivery that ended without a last attempt of its own. */
export const TERMINAL_ERRORS = [
  'webhook_deleted',
  'webhook_disabled',
  'event_expired',
  'job_removed',
  'hold_overflow',
] as const;
export type TerminalError = (typeof TERMINAL_ERRORS)[number];

export type HttpError = `http_${number}`;

/** What an attempt's transport reports (no status code). */
export type SendError = UnreachableError | PolicyError;

export type DeliveryError = SendError | BreakerError | TerminalError | HttpError;

const unreachable = new Set<string>(UNREACHABLE_ERRORS);
const policy = new Set<string>(POLICY_ERRORS);

export function isUnreachableError(error: string | null | undefined): error is UnreachableError {
  return !!error && unreachable.has(error);
}

export function isPolicyError(error: string | null | undefined): error is PolicyError {
  return !!error && policy.has(error);
}

export function httpError(status: number): HttpError {
  return `http_${status}`;
}

/** Words for an attempt's `error_message` where the transport gave none. */
export const ERROR_DESCRIPTIONS: Partial<Record<DeliveryError, string>> = {
  circuit_open: 'not attempted: the endpoint keeps timing out or refusing connections (circuit breaker open)',
  blocked_address: 'refused by the address policy before connecting',
  webhook_deleted: 'the webhook was deleted before this attempt',
  webhook_disabled: 'the webhook is disabled',
  event_expired: 'the events have left the event log (retention)',
  job_removed: 'the retry job was removed (e.g. from the dashboard) before the delivery ended',
  hold_overflow: 'too many deliveries were held behind this one (ordering bound)',
};
