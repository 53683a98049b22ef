/**
 * The OpenAPI 3.1 document served at `GET /openapi.json`: paths.json (written by hand: info,
 * operations, parameters, responses, examples, and the response shapes core has no schema for)
 * with the component schemas of the request bodies and value sets generated from core.
 */
import { CORE_SCHEMAS } from './components';
import paths from './paths.json';
import { toOpenApiSchemas } from './schema-conversion';
import { SCHEMA_NOTES } from './schema-notes';

export type OpenApiDocument = typeof paths;

export function buildOpenApiDocument(): OpenApiDocument {
  const generated = toOpenApiSchemas(CORE_SCHEMAS, SCHEMA_NOTES);
  const handWritten = paths.components.schemas;
  const twice = Object.keys(handWritten).filter((name) => name in generated);
  if (twice.length) throw new Error(`OpenAPI schemas both written in paths.json and generated: ${twice.join(', ')}`);
  return {
    ...paths,
    components: { ...paths.components, schemas: { ...generated, ...handWritten } },
  } as OpenApiDocument;
}

let built: OpenApiDocument | undefined;

/** The document, built on first use (at start-up: the health routes ask for it). */
export function openApiDocument(): OpenApiDocument {
  built ??= buildOpenApiDocument();
  return built;
}
