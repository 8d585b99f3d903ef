import {
  adminContract,
  CSRF_TOKEN_HEADER,
  OPERATOR_SESSION_COOKIE,
  type AdminContract,
  type AdminRouteDefinition,
  type AdminRouteName,
} from "@wxauth/contracts/admin";
import { successOf } from "@wxauth/contracts";
import { parse as parseCookies } from "cookie";
import { Router, type Request, type Response } from "express";
import type * as z from "zod/mini";
import { queryOf } from "../http/query.js";
import { AppError } from "../errors.js";
import { clientOf, describeIssues } from "../http/contract-route.js";
import { csrfTokenMatches, type Operators, type SignedInOperator } from "./operators.service.js";
import type { Actor } from "./admin.service.js";

type Parsed<R, Key extends string> = R extends { [K in Key]: infer S extends z.ZodMiniType }
  ? z.output<S>
  : undefined;

type ResponseOf<K extends AdminRouteName> = {
  [S in keyof AdminContract[K]["responses"]]: AdminContract[K]["responses"][S] extends infer T
    ? T extends z.ZodMiniType
      ? z.input<T>
      : void
    : never;
}[keyof AdminContract[K]["responses"]];

/** What an admin route's handler gets; `operator` and `actor` on the routes behind the cookie. */
export type AdminRouteContext<K extends AdminRouteName> = {
  body: Parsed<AdminContract[K], "body">;
  query: Parsed<AdminContract[K], "query">;
  params: Record<string, string>;
  req: Request;
  res: Response;
  requestId: string;
  address: string;
} & (AdminContract[K]["auth"] extends "operator"
  ? { operator: SignedInOperator; actor: Actor }
  : unknown);

export type AdminRouteHandler<K extends AdminRouteName> = (
  context: AdminRouteContext<K>,
) => Promise<ResponseOf<K>>;

/** The cookie's token, if the request carries one. */
export function operatorTokenOf(req: Request): string | undefined {
  const header = req.headers.cookie;
  return header ? parseCookies(header)[OPERATOR_SESSION_COOKIE] : undefined;
}

function parsed(schema: z.ZodMiniType, value: unknown, what: string): unknown {
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new AppError("VALIDATION_FAILED", `${what}: ${describeIssues(result.error)}`);
  }
  return result.data;
}

/**
 * The operator guard, in the contract's order: the session cookie (401
 * OPERATOR_UNAUTHENTICATED), the role (403 OPERATOR_FORBIDDEN), the CSRF token on changing routes
 * (403 CSRF_TOKEN_INVALID), and the one-time password still to change (403
 * PASSWORD_CHANGE_REQUIRED). A Bearer token is never looked at: an end user's token opens nothing
 * here.
 */
async function guard(
  route: AdminRouteDefinition,
  req: Request,
  operators: Operators,
): Promise<SignedInOperator> {
  const token = operatorTokenOf(req);
  const signedIn = token ? await operators.authenticate(token) : null;
  if (!signedIn) throw new AppError("OPERATOR_UNAUTHENTICATED");
  if (!route.roles.includes(signedIn.operator.role)) throw new AppError("OPERATOR_FORBIDDEN");
  if (route.csrf && !csrfTokenMatches(signedIn.token, req.get(CSRF_TOKEN_HEADER))) {
    throw new AppError("CSRF_TOKEN_INVALID");
  }
  if (!route.beforePasswordChange && signedIn.operator.passwordChangeRequired) {
    throw new AppError("PASSWORD_CHANGE_REQUIRED");
  }
  return signedIn;
}

/** A router whose `mount` adds one admin route as the admin contract describes it. */
export function adminContractRouter(operators: Operators) {
  const router = Router();
  function mount<K extends AdminRouteName>(name: K, handler: AdminRouteHandler<K>): void {
    const route: AdminRouteDefinition = adminContract[name];
    const { status } = successOf(route);
    const method = route.method.toLowerCase() as "get" | "post" | "delete";
    router[method](route.path, async (req: Request, res: Response) => {
      // Operator answers are per-operator and may hold personal data: never cached.
      res.setHeader("Cache-Control", "no-store");
      const operator = route.auth === "operator" ? await guard(route, req, operators) : undefined;
      const body =
        "body" in route ? parsed(route.body as z.ZodMiniType, req.body, "body") : undefined;
      const query =
        "query" in route ? parsed(route.query as z.ZodMiniType, queryOf(req), "query") : undefined;
      const { requestId, ip: address } = clientOf(req);
      const actor = operator ? { name: operator.operator.name, address, requestId } : undefined;
      const result = await handler({
        body,
        query,
        params: req.params as Record<string, string>,
        req,
        res,
        requestId,
        address,
        operator,
        actor,
      } as AdminRouteContext<K>);
      res.locals.answer = result;
      if (status === 204) res.status(204).end();
      else res.status(status).json(result);
    });
  }
  return { router, mount };
}
