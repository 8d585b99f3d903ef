// The built API as a child process lives in src/testing, shared with the bench and the mini program.
export { ensureBuilt, startApiProcess, type ApiProcess } from "../testing/api-process.js";
