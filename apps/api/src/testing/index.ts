/*
 * `@wxauth/api/testing`: test tooling for other workspace packages. It is exported as TypeScript
 * source (no build step): its users are test runners (vitest, tsx), not `node` itself.
 */
export { startApiProcess, type ApiProcess, type StartApiProcessOptions } from "./api-process.js";
export { freePort } from "./node-process.js";
export { createEmptyTestDatabase } from "./postgres.js";
export { solidPng } from "./png.js";
