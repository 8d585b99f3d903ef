export * from "./errors.js";
export * from "./schemas.js";
export * from "./routes.js";
export { generateOpenApiDocument } from "./openapi.js";
export { maskPhone, normalizePhone, PhoneInputSchema } from "./phone.js";
export { useJitlessValidation } from "./jitless.js";
