import { contract, successOf, type Contract, type RouteName } from "@wxauth/contracts";
import type { Request, RequestHandler, Response, Router } from "express";
import type * as z from "zod/mini";
import { AppError } from "../errors.js";
import { sendJson } from "./json-response.js";

type BodyOf<K extends RouteName> = Contract[K] extends { body: infer S extends z.ZodMiniType }
  ? z.output<S>
  : undefined;

type ResponseOf<K extends RouteName> = {
  [S in keyof Contract[K]["responses"]]: Contract[K]["responses"][S] extends infer T
    ? T extends z.ZodMiniType
      ? z.input<T>
      : void
    : never;
}[keyof Contract[K]["responses"]];

export interface RouteContext<K extends RouteName> {
  body: BodyOf<K>;
  req: Request;
  res: Response;
}

/** "code: Too small: expected string to have >=1 characters; nickname: ...". */
export function describeIssues(error: z.core.$ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.map(String).join(".") || "body"}: ${issue.message}`)
    .join("; ");
}

/**
 * Mounts one route of the contract: its method and path, its body schema (a bad body is 400
 * VALIDATION_FAILED with a readable message, the handler only sees the parsed body) and its
 * success status. Rejections reach the error handler (Express 5 forwards them).
 */
export function mountRoute<K extends RouteName>(
  router: Router,
  name: K,
  handler: (context: RouteContext<K>) => Promise<ResponseOf<K>>,
  ...before: RequestHandler[]
): void {
  const route = contract[name];
  const { status } = successOf(route);
  const bodySchema = "body" in route ? (route.body as z.ZodMiniType) : undefined;
  const method = route.method.toLowerCase() as "get" | "post" | "patch";
  router[method](route.path, ...before, async (req: Request, res: Response) => {
    let body: unknown;
    if (bodySchema) {
      const parsed = bodySchema.safeParse(req.body);
      if (!parsed.success) throw new AppError("VALIDATION_FAILED", describeIssues(parsed.error));
      body = parsed.data;
    }
    const result = await handler({ body: body as BodyOf<K>, req, res });
    if (status === 204) res.status(204).end();
    else sendJson(res, status, result);
  });
}
