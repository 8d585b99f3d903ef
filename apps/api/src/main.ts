import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createApp } from "./app.js";
import { ConfigError, loadConfig, type Config } from "./config.js";
import { applyMigrations } from "./db/migrate.js";
import { buildDependencies } from "./dependencies.js";
import { startHousekeeping } from "./housekeeping.js";
import { createLogger } from "./http/logger.js";
import { createHttpServer } from "./http/server.js";
import { adoptUnadopted } from "./wechat/adopt-unadopted.js";
import { startMetricsServer } from "./metrics/metrics-server.js";

/** In-flight requests get this long to finish after SIGTERM (a WeChat call's budget, and then some). */
const DRAIN_TIMEOUT_MS = 20_000;
/**
 * Then closing (the housekeeping run in flight, the database, the store) gets this long. Past it the
 * process logs what is still open and exits 1 rather than hang; drain and close together stay within
 * the 25 s stop grace period the README asks for.
 */
const CLOSE_TIMEOUT_MS = 4_000;

function configOrExit(): Config {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
}

async function main(): Promise<void> {
  const config = configOrExit();
  const logger = createLogger(config.logLevel);
  const migrations = await applyMigrations(config.databaseUrl);
  logger.info({ migrations }, "database schema ready");
  const deps = await buildDependencies(config, logger);
  await adoptUnadopted(deps.data, deps.apps.primary.appid, logger);
  const app = createApp(deps);
  const stopHousekeeping = startHousekeeping(deps);

  const server: Server = createHttpServer(app, logger).listen(config.port, config.host);
  await new Promise<void>((resolve, reject) => {
    server.once("listening", resolve);
    server.once("error", reject);
  });
  const { port } = server.address() as AddressInfo;
  logger.info(
    { port, host: config.host, registrationMode: config.registrationMode, nodeEnv: config.nodeEnv },
    `wxauth API listening on http://${config.host === "0.0.0.0" ? "127.0.0.1" : config.host}:${port}`,
  );

  // Off unless METRICS_PORT is set: what it tells is for the operator's network only.
  const metricsServer =
    config.metricsPort === undefined
      ? undefined
      : await startMetricsServer(deps.metrics.registry, config.metricsPort, config.host);
  if (metricsServer) {
    const { port: metricsPort } = metricsServer.address() as AddressInfo;
    logger.info({ metricsPort }, `metrics on http://${config.host}:${metricsPort}/metrics`);
  }

  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down: no new connections, finishing in-flight requests");
    // What shutdown still waits for, named in the log if the deadline passes.
    const stillOpen = new Set<string>();
    const track = (part: string, closing: Promise<void>): Promise<void> => {
      stillOpen.add(part);
      return closing.finally(() => stillOpen.delete(part));
    };
    let backstop: NodeJS.Timeout | undefined;
    const exitWithinCloseTimeout = () => {
      backstop ??= setTimeout(() => {
        logger.error(
          { stillOpen: [...stillOpen], activeResources: process.getActiveResourcesInfo() },
          `shutdown: not closed within ${CLOSE_TIMEOUT_MS} ms; exiting anyway`,
        );
        logger.flush();
        process.exit(1);
      }, CLOSE_TIMEOUT_MS);
    };

    // Its run in flight (the first starts with the process) finishes before the database closes.
    const housekeepingStopped = track("housekeeping", stopHousekeeping());
    // Scrapes stop with the process; none is worth waiting for.
    metricsServer?.close();
    metricsServer?.closeAllConnections();
    stillOpen.add("http connections");
    // Keep-alive clients are told to reconnect elsewhere once their current request is answered.
    server.on("request", (_req, res) => res.setHeader("Connection", "close"));
    const idleSweep = setInterval(() => server.closeIdleConnections(), 250);
    const drainDeadline = setTimeout(() => {
      logger.error("drain timeout: closing the remaining connections");
      server.closeAllConnections();
      exitWithinCloseTimeout();
    }, DRAIN_TIMEOUT_MS);
    server.close(async (error) => {
      stillOpen.delete("http connections");
      clearInterval(idleSweep);
      clearTimeout(drainDeadline);
      exitWithinCloseTimeout();
      await housekeepingStopped;
      await deps.close(track);
      logger.info("stopped");
      logger.flush();
      process.exit(error ? 1 : 0);
    });
    server.closeIdleConnections();
  };
  process.on("SIGTERM", shutdown);
  process.on("SIGINT", shutdown);
}

main().catch((error: unknown) => {
  console.error("wxauth API failed to start:", error);
  process.exit(1);
});
