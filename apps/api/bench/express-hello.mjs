// The ceiling of this stack: Express 5 answering a constant JSON body, nothing else.
import express from "express";

const app = express();
app.get("/hello", (_req, res) => {
  res.json({ hello: "world" });
});
const server = app.listen(Number(process.env.PORT), "127.0.0.1", () => {
  process.stdout.write(`express hello listening on ${server.address().port}\n`);
});
process.once("SIGTERM", () => server.close(() => process.exit(0)));
