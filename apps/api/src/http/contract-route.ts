import { contract, successOf, type Contract, type RouteName } from "@wxauth/contracts";
import { Router, type Request, type Response } from "express";
import type * as z from "zod/mini";
import { AppError } from "../errors.js";
import type { AccountRecord } from "../users/users.repository.js";
import { authenticatedUser, type Authenticate } from "./authenticate.js";

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

/**
 * What a route's handler gets; on the routes with `auth: true`, `userId` (the signed-in user),
 * `sessionId` (the session their access token belongs to), `appid` (the app it signed in through)
 * and `account` (the user's account, read with the session when the request came in).
 */
export type RouteContext<K extends RouteName> = {
  body: BodyOf<K>;
  req: Request;
  res: Response;
  /** The request's id (request-id.ts), for the log lines and security events it causes. */
  requestId: string;
} & (Contract[K]["auth"] extends true
  ? { userId: string; sessionId: string; appid: string; account: AccountRecord }
  : unknown);

export type RouteHandler<K extends RouteName> = (
  context: RouteContext<K>,
) => Promise<ResponseOf<K>>;

export interface ContractRouter {
  router: Router;
  mount<K extends RouteName>(name: K, handler: RouteHandler<K>): void;
}

/**
 * Who sent the request, for the SMS limits and logs: the request id, and the client address as
 * `trust proxy` resolves it (the load balancer's X-Forwarded-For when configured).
 */
export function clientOf(req: Request): { requestId: string; ip: string } {
  return { requestId: String(req.id), ip: req.ip ?? req.socket.remoteAddress ?? "" };
}

type Issue = z.core.$ZodIssue;

/**
 * A body that matches no way of a union (a phone proven by a phone code or by an SMS code) is
 * described by the way it came closest to, the one with the fewest issues, so the message still
 * names the fields to fix.
 */
function closestIssues(issue: Issue): Issue[] {
  if (issue.code !== "invalid_union" || issue.errors.length === 0) return [issue];
  const closest = issue.errors.reduce((best, branch) =>
    branch.length < best.length ? branch : best,
  );
  return closest.flatMap((inner) =>
    closestIssues({ ...inner, path: [...issue.path, ...inner.path] }),
  );
}

/** "code: Too small: expected string to have >=1 characters; nickname: ...". */
export function describeIssues(error: z.core.$ZodError): string {
  return error.issues
    .flatMap(closestIssues)
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
export function contractRouter(authenticate: Authenticate): ContractRouter {
  const router = Router();
  function mount<K extends RouteName>(name: K, handler: RouteHandler<K>): void {
    const route = contract[name];
    const { status } = successOf(route);
    const bodySchema = "body" in route ? (route.body as z.ZodMiniType) : undefined;
    const method = route.method.toLowerCase() as "get" | "post" | "patch" | "delete";
    router[method](route.path, async (req: Request, res: Response) => {
      const signedIn = route.auth ? await authenticatedUser(req, authenticate) : undefined;
      let body: unknown;
      if (bodySchema) {
        const parsed = bodySchema.safeParse(req.body);
        if (!parsed.success) throw new AppError("VALIDATION_FAILED", describeIssues(parsed.error));
        body = parsed.data;
      }
      const requestId = String(req.id);
      const result = await handler({ body, req, res, requestId, ...signedIn } as RouteContext<K>);
      // What the client is answered, for the metrics (metrics-middleware.ts).
      res.locals.answer = result;
      if (status === 204) res.status(204).end();
      else res.status(status).json(result);
    });
  }
  return { router, mount };
}
