import * as z from "zod/mini";
import * as adminSchemas from "./admin.js";
import {
  adminContract,
  adminErrorCatalog,
  CSRF_TOKEN_HEADER,
  OPERATOR_SESSION_COOKIE,
  type AdminErrorCode,
} from "./admin.js";
import { ErrorBodySchema } from "./errors.js";
import { contract, type RouteDefinition } from "./routes.js";
import * as schemas from "./schemas.js";

type JsonSchema = Record<string, unknown>;

/** An end-user route or an admin route: the document lists both. */
type AnyRoute = RouteDefinition<AdminErrorCode>;

/** Schemas that get a name under components.schemas (everything exported as `XxxSchema`). */
const namedSchemas = new Map<z.ZodMiniType, string>([
  ...[...Object.entries(schemas), ...Object.entries(adminSchemas)]
    .filter(([exportName]) => exportName.endsWith("Schema"))
    .map(
      ([exportName, schema]) =>
        [schema as z.ZodMiniType, exportName.replace(/Schema$/, "")] as const,
    ),
  [ErrorBodySchema, "ErrorBody"],
]);

function jsonSchemaOf(schema: z.ZodMiniType, io: "input" | "output"): JsonSchema {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, {
    io,
    target: "draft-2020-12",
    unrepresentable: "any",
  }) as JsonSchema;
  return rest;
}

function refOrInline(schema: z.ZodMiniType, io: "input" | "output"): JsonSchema {
  const name = namedSchemas.get(schema);
  return name ? { $ref: `#/components/schemas/${name}` } : jsonSchemaOf(schema, io);
}

function operationOf(name: string, route: AnyRoute): JsonSchema {
  const responses: Record<string, JsonSchema> = {};
  for (const [status, schema] of Object.entries(route.responses)) {
    if (schema) {
      responses[status] = {
        description: "Success",
        content: { "application/json": { schema: refOrInline(schema, "output") } },
      };
    } else if (route.download) {
      const file = { schema: { type: "string", format: "binary" } };
      responses[status] = {
        description: "Success: the file's bytes",
        content: Object.fromEntries(route.download.mediaTypes.map((type) => [type, file])),
      };
    } else {
      responses[status] = { description: "Success, no body" };
    }
  }
  const errorsByStatus = new Map<number, AdminErrorCode[]>();
  for (const code of route.errors) {
    const { status } = adminErrorCatalog[code];
    errorsByStatus.set(status, [...(errorsByStatus.get(status) ?? []), code]);
  }
  for (const [status, codes] of errorsByStatus) {
    responses[String(status)] = {
      description: codes
        .map((code) => `\`${code}\`: ${adminErrorCatalog[code].message.en}`)
        .join("\n\n"),
      content: { "application/json": { schema: { $ref: "#/components/schemas/ErrorBody" } } },
    };
  }
  const parameters = [
    ...pathParametersOf(route.path).map((parameter) => ({
      name: parameter,
      in: "path",
      required: true,
      schema: { type: "string" },
    })),
    ...queryParametersOf(route),
  ];
  const requestBody = requestBodyOf(route);
  return {
    operationId: name,
    summary: route.summary,
    security: securityOf(route),
    ...("roles" in route ? { "x-operator-roles": route.roles } : {}),
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(requestBody ? { requestBody } : {}),
    responses,
  };
}

/**
 * An empty list says in so many words that the route is public (not that it was forgotten). An
 * operator route that changes something needs the cookie and the CSRF header together.
 */
function securityOf(route: AnyRoute): Array<Record<string, string[]>> {
  if (route.auth === "operator") {
    const csrf = "csrf" in route && route.csrf === true;
    return [{ operatorSession: [], ...(csrf ? { csrfToken: [] } : {}) }];
  }
  return route.auth ? [{ bearerAuth: [] }] : [];
}

function queryParametersOf(route: AnyRoute): JsonSchema[] {
  if (!route.query) return [];
  const { properties = {}, required = [] } = jsonSchemaOf(route.query, "input") as {
    properties?: Record<string, JsonSchema>;
    required?: string[];
  };
  return Object.entries(properties).map(([name, schema]) => ({
    name,
    in: "query",
    required: required.includes(name),
    schema,
  }));
}

function requestBodyOf(route: AnyRoute): JsonSchema | undefined {
  if (route.body) {
    return {
      required: true,
      content: { "application/json": { schema: refOrInline(route.body, "input") } },
    };
  }
  if (route.upload) {
    const { contentType, field, mediaTypes, maxBytes } = route.upload;
    return {
      required: true,
      description: `One file in the \`${field}\` field: ${mediaTypes.join(", ")} (told by its bytes), at most ${maxBytes} bytes.`,
      content: {
        [contentType]: {
          schema: {
            type: "object",
            required: [field],
            properties: { [field]: { type: "string", format: "binary" } },
          },
          encoding: { [field]: { contentType: mediaTypes.join(", ") } },
        },
      },
    };
  }
  return undefined;
}

const PATH_PARAMETER = /:(\w+)/g;

function pathParametersOf(path: string): string[] {
  return [...path.matchAll(PATH_PARAMETER)].map((match) => match[1] as string);
}

/** Express's `/api/avatars/:avatarId` as OpenAPI's `/api/avatars/{avatarId}`. */
export function openApiPathOf(path: string): string {
  return path.replace(PATH_PARAMETER, "{$1}");
}

/**
 * The OpenAPI 3.1 document of the API, generated from the contract. Without `serverUrl` its server
 * is `/`: the origin the document was fetched from, which is where the API serves it.
 */
export function generateOpenApiDocument(options: { serverUrl?: string } = {}): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  const routes = { ...contract, ...adminContract };
  for (const [name, route] of Object.entries(routes) as [string, AnyRoute][]) {
    const path = openApiPathOf(route.path);
    paths[path] ??= {};
    paths[path]![route.method.toLowerCase()] = operationOf(name, route);
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
      description:
        "WeChat Mini Program login: jscode2session, phone registration and sessions; and the operators' console under /api/admin.",
    },
    servers: [{ url: options.serverUrl ?? "/" }],
    paths,
    components: {
      schemas: components,
      securitySchemes: {
        bearerAuth: { type: "http", scheme: "bearer", bearerFormat: "JWT" },
        operatorSession: { type: "apiKey", in: "cookie", name: OPERATOR_SESSION_COOKIE },
        csrfToken: {
          type: "apiKey",
          in: "header",
          name: CSRF_TOKEN_HEADER,
          description: "The `csrfToken` of the operator's sign-in answer",
        },
      },
    },
  };
}
