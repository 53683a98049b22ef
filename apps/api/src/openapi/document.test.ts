/**
 * The built OpenAPI document: its component schemas come from core (none written by hand as well),
 * each is strict JSON Schema 2020-12 and accepts the examples the document gives it. Router parity,
 * operations and the agreement with the service's checks are in apps/api/test/openapi.test.ts.
 */
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { eventJsonSchema, webhookFilterSchema } from '@devhooks/core';
import { CORE_SCHEMAS } from './components';
import { buildOpenApiDocument, openApiDocument } from './document';
import paths from './paths.json';

const doc = buildOpenApiDocument() as any;
const schemas: Record<string, any> = doc.components.schemas;
const DOC_ID = 'https://devhooks.invalid/openapi.json';

/** Strict 2020-12: an unknown keyword (an ajv-only one included) fails the compile. */
const ajv = new Ajv2020({ strict: true, allowUnionTypes: true, allErrors: true });
addFormats(ajv);
ajv.addKeyword('components');
ajv.addSchema({ $id: DOC_ID, components: { schemas } });
const compiled = (name: string) => ajv.compile({ $ref: `${DOC_ID}#/components/schemas/${name}` });

describe('the OpenAPI document', () => {
  it('holds every schema core defines, under the names components.ts gives them', () => {
    expect(Object.keys(CORE_SCHEMAS).length).toBeGreaterThan(20);
    for (const name of Object.keys(CORE_SCHEMAS)) expect([name, typeof schemas[name]]).toEqual([name, 'object']);
  });

  it('writes none of them by hand in paths.json', () => {
    const handWritten = Object.keys(paths.components.schemas);
    expect(handWritten.filter((name) => name in CORE_SCHEMAS)).toEqual([]);
    expect(handWritten.length + Object.keys(CORE_SCHEMAS).length).toBe(Object.keys(schemas).length);
  });

  it("takes core's constraints as they are", () => {
    expect(schemas.Event.required).toEqual(eventJsonSchema.required);
    expect(schemas.Event.properties.id.pattern).toBe(eventJsonSchema.properties.id.pattern);
    expect(schemas.WebhookFilter.properties.data.maxProperties).toBe(webhookFilterSchema.properties.data.maxProperties);
    expect(schemas.WebhookInput.properties.filter.anyOf[0]).toEqual({ $ref: '#/components/schemas/WebhookFilter' });
    expect(schemas.WebhookFilter.properties.types.items).toEqual({ $ref: '#/components/schemas/EventType' });
    expect(schemas.Event.allOf.map((b: any) => b.then.properties.data.$ref)).toEqual(
      expect.arrayContaining(['#/components/schemas/AlarmData', '#/components/schemas/MessageData']),
    );
  });

  it('carries no $id and no ajv-only keyword: every component compiles as strict 2020-12', () => {
    const refs: string[] = [];
    const ids: string[] = [];
    JSON.stringify(schemas, (key, value) => {
      if (key === '$ref') refs.push(value);
      if (key === '$id') ids.push(value);
      return value;
    });
    expect(ids).toEqual([]);
    expect(refs.filter((r) => !r.startsWith('#/components/schemas/'))).toEqual([]);
    for (const name of Object.keys(schemas)) expect(() => compiled(name)).not.toThrow();
  });

  it("accepts each generated component's own examples", () => {
    const withExamples = Object.keys(CORE_SCHEMAS).filter((name) => Array.isArray(schemas[name].examples));
    expect(withExamples.length).toBeGreaterThan(5);
    for (const name of withExamples) {
      const validate = compiled(name);
      for (const example of schemas[name].examples)
        expect([name, validate(example), validate.errors]).toEqual([name, true, null]);
    }
  });

  it('is built once and served as built', () => {
    expect(openApiDocument()).toBe(openApiDocument());
    expect(openApiDocument()).toEqual(doc);
  });
});
