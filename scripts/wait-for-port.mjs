#!/usr/bin/env node
// `node scripts/wait-for-port.mjs <host> <port> [timeoutS]`: exits 0 once something accepts TCP
// connections there, 1 after the timeout. `pnpm dev` starts the API only once its embedded
// database listens: the API migrates the database first thing, and would stop if it were not up.
import net from "node:net";

const [host = "127.0.0.1", port = "5433", timeoutS = "120"] = process.argv.slice(2);
const deadline = Date.now() + Number(timeoutS) * 1000;

const accepts = () =>
  new Promise((resolve) => {
    const socket = net.connect(Number(port), host);
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });

while (!(await accepts())) {
  if (Date.now() > deadline) {
    console.error(`nothing listens on ${host}:${port} after ${timeoutS} s`);
    process.exit(1);
  }
  await new Promise((resolve) => setTimeout(resolve, 200));
}
