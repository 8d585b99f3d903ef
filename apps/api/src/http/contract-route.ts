import { contract, successOf, type Contract, type RouteName } from "@wxauth/contracts";
import { Router, type Request, type Response } from "express";
import type * as z from "zod/mini";
import type { AccessTokens } from "../auth/access-tokens.js";
import { AppError } from "../errors.js";
import { authenticatedUser } from "./authenticate.js";

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

/** What a route's handler gets; `userId` (the signed-in user) on the routes with `auth: true`. */
export type RouteContext<K extends RouteName> = {
  body: BodyOf<K>;
  req: Request;
  res: Response;
} & (Contract[K]["auth"] extends true ? { userId: string } : unknown);

export type RouteHandler<K extends RouteName> = (
  context: RouteContext<K>,
) => Promise<ResponseOf<K>>;

export interface ContractRouter {
  router: Router;
  mount<K extends RouteName>(name: K, handler: RouteHandler<K>): void;
}

/** "code: Too small: expected string to have >=1 characters; nickname: ...". */
export function describeIssues(error: z.core.$ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.map(String).join(".") || "body"}: ${issue.message}`)
    .join("; ");
}

/**
 * A router whose `mount` adds one route of the contract as the contract describes it: its method
 * and path; a Bearer token when it says `auth: true` (401 UNAUTHORIZED without a valid one, before
 * anything else); its body schema (a bad body is 400 VALIDATION_FAILED with a readable message,
 * the handler only sees the parsed body); and its success status. Rejections reach the error
 * handler (Express 5 forwards them).
 */
export function contractRouter(accessTokens: AccessTokens): ContractRouter {
  const router = Router();
  function mount<K extends RouteName>(name: K, handler: RouteHandler<K>): void {
    const route = contract[name];
    const { status } = successOf(route);
    const bodySchema = "body" in route ? (route.body as z.ZodMiniType) : undefined;
    const method = route.method.toLowerCase() as "get" | "post" | "patch";
    router[method](route.path, async (req: Request, res: Response) => {
      const userId = route.auth ? authenticatedUser(req, accessTokens) : undefined;
      let body: unknown;
      if (bodySchema) {
        const parsed = bodySchema.safeParse(req.body);
        if (!parsed.success) throw new AppError("VALIDATION_FAILED", describeIssues(parsed.error));
        body = parsed.data;
      }
      const result = await handler({ body, req, res, userId } as RouteContext<K>);
      if (status === 204) res.status(204).end();
      else res.status(status).json(result);
    });
  }
  return { router, mount };
}
