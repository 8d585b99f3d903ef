/*
 * Every schema the OpenAPI document names, gathered for openapi.ts's `import * as`. Importing
 * schemas.ts as a namespace there directly would put the namespace object (a getter per schema)
 * in the chunk the mini program imports too, keeping every schema in its bundle; through this
 * module, only openapi.js holds it.
 */
export * from "./schemas.js";
export * from "./admin.js";
