import { z } from "zod";
import { ErrorBodySchema, errorCatalog, type ErrorCode } from "./errors.js";
import { contract, type RouteDefinition } from "./routes.js";
import * as schemas from "./schemas.js";

type JsonSchema = Record<string, unknown>;

/** Schemas that get a name under components.schemas (everything exported as `XxxSchema`). */
const namedSchemas = new Map<z.ZodType, string>([
  ...Object.entries(schemas).map(
    ([exportName, schema]) => [schema as z.ZodType, exportName.replace(/Schema$/, "")] as const,
  ),
  [ErrorBodySchema, "ErrorBody"],
]);

function jsonSchemaOf(schema: z.ZodType, io: "input" | "output"): JsonSchema {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, {
    io,
    target: "draft-2020-12",
    unrepresentable: "any",
  }) as JsonSchema;
  return rest;
}

function refOrInline(schema: z.ZodType, io: "input" | "output"): JsonSchema {
  const name = namedSchemas.get(schema);
  return name ? { $ref: `#/components/schemas/${name}` } : jsonSchemaOf(schema, io);
}

function operationOf(name: string, route: RouteDefinition): JsonSchema {
  const responses: Record<string, JsonSchema> = {};
  for (const [status, schema] of Object.entries(route.responses)) {
    responses[status] = schema
      ? {
          description: "Success",
          content: { "application/json": { schema: refOrInline(schema, "output") } },
        }
      : { description: "Success, no body" };
  }
  const errorsByStatus = new Map<number, ErrorCode[]>();
  for (const code of route.errors) {
    const { status } = errorCatalog[code];
    errorsByStatus.set(status, [...(errorsByStatus.get(status) ?? []), code]);
  }
  for (const [status, codes] of errorsByStatus) {
    responses[String(status)] = {
      description: codes
        .map((code) => `\`${code}\`: ${errorCatalog[code].message.en}`)
        .join("\n\n"),
      content: { "application/json": { schema: { $ref: "#/components/schemas/ErrorBody" } } },
    };
  }
  return {
    operationId: name,
    summary: route.summary,
    ...(route.auth ? { security: [{ bearerAuth: [] }] } : {}),
    ...(route.body
      ? {
          requestBody: {
            required: true,
            content: { "application/json": { schema: refOrInline(route.body, "input") } },
          },
        }
      : {}),
    responses,
  };
}

/** The OpenAPI 3.1 document of the API, generated from the contract. */
export function generateOpenApiDocument(options: { serverUrl?: string } = {}): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const [name, route] of Object.entries(contract) as [string, RouteDefinition][]) {
    paths[route.path] ??= {};
    paths[route.path]![route.method.toLowerCase()] = operationOf(name, route);
  }
  const components: Record<string, JsonSchema> = {};
  for (const [schema, name] of namedSchemas) {
    components[name] = jsonSchemaOf(schema, "output");
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "wxauth API",
      version: "1.0.0",
      description: "WeChat Mini Program login: jscode2session, phone registration and sessions.",
    },
    ...(options.serverUrl ? { servers: [{ url: options.serverUrl }] } : {}),
    paths,
    components: {
      schemas: components,
      securitySchemes: { bearerAuth: { type: "http", scheme: "bearer", bearerFormat: "JWT" } },
    },
  };
}
