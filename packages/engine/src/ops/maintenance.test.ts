/** Stream id order (the pure part of periodic upkeep). */
import { compareIds } from './maintenance';

describe('compareIds', () => {
  it('orders by milliseconds first, numerically (not as text)', () => {
    expect(compareIds('2-0', '10-0')).toBeLessThan(0);
    expect(compareIds('10-0', '2-0')).toBeGreaterThan(0);
    expect(compareIds('999-99', '1000-0')).toBeLessThan(0);
    expect(compareIds('1714557600001-0', '1714557600000-999')).toBeGreaterThan(0);
  });

  it('then by sequence, numerically', () => {
    expect(compareIds('5-1', '5-2')).toBeLessThan(0);
    expect(compareIds('5-10', '5-9')).toBeGreaterThan(0);
    expect(compareIds('1714557600000-3', '1714557600000-0')).toBeGreaterThan(0);
  });

  it('is 0 for equal ids', () => {
    expect(compareIds('0-0', '0-0')).toBe(0);
    expect(compareIds('1714557600000-7', '1714557600000-7')).toBe(0);
  });

  it('sorts a list of ids the way Redis orders them', () => {
    const ids = ['10-0', '2-5', '2-10', '0-0', '1714557600000-1', '2-0', '1714557600000-0'];
    expect([...ids].sort(compareIds)).toEqual([
      '0-0',
      '2-0',
      '2-5',
      '2-10',
      '10-0',
      '1714557600000-0',
      '1714557600000-1',
    ]);
  });

  it('is antisymmetric', () => {
    const pairs: Array<[string, string]> = [
      ['1-0', '1-1'],
      ['3-0', '20-0'],
      ['7-7', '7-7'],
    ];
    for (const [a, b] of pairs) expect(Math.sign(compareIds(a, b)) + Math.sign(compareIds(b, a))).toBe(0);
  });
});
