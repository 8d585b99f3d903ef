import { createRequire } from "node:module";
import path from "node:path";
import { generateOpenApiDocument } from "@wxauth/contracts/openapi";
import { Router } from "express";

const DOCS_ASSETS = new Set(["swagger-ui.css", "swagger-ui-bundle.js"]);

const DOCS_PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>wxauth API</title>
    <link rel="stylesheet" href="/api/docs/swagger-ui.css" />
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="/api/docs/swagger-ui-bundle.js"></script>
    <script src="/api/docs/init.js"></script>
  </body>
</html>
`;

// A file, not an inline script, so the page works under helmet's default CSP (script-src 'self').
const DOCS_INIT = `window.ui = SwaggerUIBundle({ url: "/api/openapi.json", dom_id: "#swagger-ui" });\n`;

/** The OpenAPI document generated from the contract, and Swagger UI served from node_modules (works offline). */
export function docsRouter() {
  const router = Router();
  const document = generateOpenApiDocument();
  const swaggerUiDir = path.dirname(
    createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"),
  );

  router.get("/api/openapi.json", (_req, res) => {
    res.json(document);
  });
  router.get(["/api/docs", "/api/docs/"], (_req, res) => {
    res.type("html").send(DOCS_PAGE);
  });
  router.get("/api/docs/init.js", (_req, res) => {
    res.type("application/javascript").send(DOCS_INIT);
  });
  // Only the two assets the page uses: the package also ships a demo page pointing at the petstore.
  router.get("/api/docs/:asset", (req, res, next) => {
    const asset = req.params.asset;
    if (!DOCS_ASSETS.has(asset)) {
      next();
      return;
    }
    res.sendFile(asset, { root: swaggerUiDir, maxAge: "1d" });
  });
  return router;
}
