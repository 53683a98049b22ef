/** The delivery-error vocabulary: its groups are disjoint, and the predicates and words agree with them. */
import {
  ERROR_DESCRIPTIONS,
  httpError,
  isPolicyError,
  isUnreachableError,
  POLICY_ERRORS,
  TERMINAL_ERRORS,
  UNREACHABLE_ERRORS,
  type DeliveryError,
} from './delivery-errors';
import { classify } from './retry-policy';

describe('delivery errors', () => {
  it('groups are disjoint', () => {
    const all = [...UNREACHABLE_ERRORS, ...POLICY_ERRORS, ...TERMINAL_ERRORS, 'circuit_open'];
    expect(new Set(all).size).toBe(all.length);
  });

  it('isUnreachableError is true exactly for the unreachable group', () => {
    for (const e of UNREACHABLE_ERRORS) expect(isUnreachableError(e)).toBe(true);
    for (const e of [...POLICY_ERRORS, ...TERMINAL_ERRORS, 'circuit_open', 'http_503', '', null, undefined])
      expect(isUnreachableError(e)).toBe(false);
  });

  it('isPolicyError is true exactly for the policy group', () => {
    for (const e of POLICY_ERRORS) expect(isPolicyError(e)).toBe(true);
    for (const e of [...UNREACHABLE_ERRORS, ...TERMINAL_ERRORS, 'circuit_open', 'http_400', null, undefined])
      expect(isPolicyError(e)).toBe(false);
  });

  it('an HTTP answer reads http_<status>', () => {
    expect(httpError(503)).toBe('http_503');
    expect(httpError(410)).toBe('http_410');
  });

  it('unreachable receivers and an open breaker are retried; policy refusals fail at once', () => {
    for (const error of UNREACHABLE_ERRORS) expect(classify({ error })).toBe('retry');
    expect(classify({ error: 'circuit_open' })).toBe('retry');
    for (const error of POLICY_ERRORS) expect(classify({ error })).toBe('fail');
  });

  it('every error without transport words of its own has a description', () => {
    const described: DeliveryError[] = ['circuit_open', 'blocked_address', ...TERMINAL_ERRORS];
    for (const e of described) expect(ERROR_DESCRIPTIONS[e]).toMatch(/\w{3,}/);
    // what the transport reports comes with its own message; nothing here repeats it
    for (const e of UNREACHABLE_ERRORS) expect(ERROR_DESCRIPTIONS[e]).toBeUndefined();
  });
});
