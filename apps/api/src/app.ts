import cors from "cors";
import express from "express";
import helmet from "helmet";
import { ADMIN_CONSOLE_DIST, adminConsoleRouter } from "./admin/admin-console.js";
import { adminRouter } from "./admin/admin.router.js";
import { authRouter } from "./auth/auth.router.js";
import { avatarsRouter } from "./avatars/avatars.router.js";
import type { Dependencies } from "./dependencies.js";
import { docsRouter } from "./docs/docs.router.js";
import { healthRouter } from "./health/health.router.js";
import { errorHandler, notFound } from "./http/error-handler.js";
import { jsonBody } from "./http/json-body.js";
import { httpLogger } from "./http/logger.js";
import { methodOverride } from "./http/method-override.js";
import { metricsMiddleware } from "./metrics/metrics-middleware.js";
import { authRateLimit } from "./http/rate-limit.js";
import { requestId } from "./http/request-id.js";
import { usersRouter } from "./users/users.router.js";
import { wechatPushRouter } from "./wechat-push/wechat-push.router.js";

/** The Express app. It never listens: main.ts and the tests do. */
export function createApp(deps: Dependencies): express.Express {
  const { config, logger } = deps;
  const app = express();
  app.disable("x-powered-by");
  // Responses are per-user JSON: no ETag hashing, no query parsing (no route takes a query).
  app.set("etag", false);
  app.set("query parser", false);
  app.set("trust proxy", config.trustProxy);

  app.use(requestId);
  app.use(metricsMiddleware(deps.metrics));
  app.use(methodOverride);
  app.use(httpLogger(logger));
  app.use(helmet());
  app.use(
    cors({
      origin: config.corsOrigins,
      methods: ["GET", "POST", "PATCH", "DELETE"],
      allowedHeaders: ["Authorization", "Content-Type", "X-Request-Id", "X-HTTP-Method-Override"],
      exposedHeaders: ["X-Request-Id", "Retry-After", "RateLimit", "RateLimit-Policy"],
      maxAge: 600,
    }),
  );
  app.use("/api/auth", authRateLimit(deps.store, config.authRateLimitPerMinute, logger));
  // Before the JSON parser: a push's signature covers its body exactly as sent.
  app.use(wechatPushRouter(deps));
  app.use(jsonBody());

  app.use(healthRouter(deps));
  app.use(adminRouter(deps));
  app.use(authRouter(deps));
  app.use(usersRouter(deps));
  app.use(avatarsRouter(deps));
  app.use(docsRouter());
  // The operators' console, when it has been built (pnpm dev serves it from Vite instead).
  const adminConsole = adminConsoleRouter(deps.config.adminConsoleDir ?? ADMIN_CONSOLE_DIST);
  if (adminConsole) app.use(adminConsole);

  app.use(notFound);
  app.use(errorHandler);
  return app;
}
