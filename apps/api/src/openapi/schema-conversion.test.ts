/** Core's ajv schemas → OpenAPI component schemas. */
import { toOpenApiSchemas } from './schema-conversion';

const colour = { type: 'string', enum: ['red', 'green'] };
const paint = {
  $id: 'test/paint',
  type: 'object',
  properties: { colour: { type: 'string', enum: ['red', 'green'] }, mixed: { type: 'array', items: colour } },
};
const wall = { type: 'object', properties: { paint: { $ref: 'test/paint' }, note: { type: 'string' } } };

describe('toOpenApiSchemas', () => {
  it('drops $ids, turns refs by id and reused schema objects into component refs', () => {
    const out = toOpenApiSchemas({ Colour: colour, Paint: paint, Wall: wall }, {});
    expect(out.Paint).toEqual({
      type: 'object',
      properties: {
        colour: { $ref: '#/components/schemas/Colour' },
        mixed: { type: 'array', items: { $ref: '#/components/schemas/Colour' } },
      },
    });
    expect(out.Wall.properties).toEqual({ paint: { $ref: '#/components/schemas/Paint' }, note: { type: 'string' } });
    expect(out.Colour).toEqual(colour);
  });

  it('adds the notes, keeps an annotated copy annotated, and leaves the sources alone', () => {
    const out = toOpenApiSchemas(
      { Colour: colour, Paint: paint },
      {
        Colour: { description: 'A colour.' },
        Paint: { examples: [{ colour: 'red' }], properties: { colour: { description: 'Its colour.' } } },
      },
    );
    expect(out.Colour).toEqual({ ...colour, description: 'A colour.' });
    expect(out.Paint.examples).toEqual([{ colour: 'red' }]);
    expect((out.Paint.properties as any).colour).toEqual({
      $ref: '#/components/schemas/Colour',
      description: 'Its colour.',
    });
    expect(paint).not.toHaveProperty('examples');
    expect(paint.$id).toBe('test/paint');
  });

  it('never names a bare type: {"type": "object"} stays inline', () => {
    const out = toOpenApiSchemas(
      { Anything: { type: 'object' }, Box: { type: 'object', properties: { x: { type: 'object' } } } },
      {},
    );
    expect((out.Box.properties as any).x).toEqual({ type: 'object' });
  });

  it('refuses what a document cannot carry', () => {
    expect(() => toOpenApiSchemas({ A: { type: 'object', instanceof: 'Date' } }, {})).toThrow(
      /"instanceof" is no JSON Schema keyword/,
    );
    expect(() => toOpenApiSchemas({ A: { properties: { b: { $ref: 'test/unknown' } } } }, {})).toThrow(
      /names no component/,
    );
    expect(() => toOpenApiSchemas({ A: { type: 'object' } }, { B: {} })).toThrow(/no schema B/);
    expect(() => toOpenApiSchemas({ A: { type: 'object' } }, { A: { properties: { b: {} } } })).toThrow(
      /A has no property b/,
    );
  });
});
