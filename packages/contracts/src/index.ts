export * from "./errors.js";
export * from "./schemas.js";
export * from "./routes.js";
export { maskPhone, normalizePhone, PhoneInputSchema } from "./phone.js";
