import { existsSync } from "node:fs";
import path from "node:path";
import express, { Router } from "express";
import { API_ROOT } from "../config.js";

/** Where `pnpm --filter @wxauth/admin build` writes the console, beside the API in the repository. */
export const ADMIN_CONSOLE_DIST = path.join(API_ROOT, "..", "admin", "dist");

/**
 * The built console at /admin/: its files, and index.html for every other path under /admin/ (the
 * console's router owns those: /admin/users/…, /admin/audit). Vite names each asset by its hash,
 * so assets are cached for a year and index.html never. It runs under helmet's default CSP:
 * scripts and styles come from this origin only, as Vite's build emits them (no inline script);
 * TDesign's inline style attributes are what `style-src 'unsafe-inline'` in that default allows.
 * Served from the same origin as /api/admin, so the session cookie can be SameSite=Strict.
 */
export function adminConsoleRouter(dist: string): Router | undefined {
  const indexHtml = path.join(dist, "index.html");
  if (!existsSync(indexHtml)) return undefined;
  const router = Router();
  router.use(
    "/admin/assets",
    express.static(path.join(dist, "assets"), { immutable: true, maxAge: "365d", index: false }),
  );
  router.use("/admin", express.static(dist, { index: false, maxAge: 0 }));
  router.get(["/admin", "/admin/*rest"], (_req, res) => {
    res.setHeader("Cache-Control", "no-cache");
    res.sendFile(indexHtml);
  });
  return router;
}
