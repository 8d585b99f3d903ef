/*
 * A private PostgreSQL cluster that a test may crash, freeze and start again, to play an outage
 * without touching the shared server on 5432.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, chownSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { freePort } from "./node-process.js";

const run = promisify(execFile);

/** Where Debian and Ubuntu put the server binaries; PATH (pg_config --bindir) is tried after. */
const BIN_DIRS = ["/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin", "/usr/local/bin"];

function serverBinDir(): string {
  for (const dir of BIN_DIRS) if (existsSync(path.join(dir, "initdb"))) return dir;
  throw new Error(
    "The PostgreSQL outage tests need the server binaries (initdb, pg_ctl) to start a throwaway " +
      `cluster, and none were found in ${BIN_DIRS.join(", ")}. Install the PostgreSQL server ` +
      "(e.g. `apt-get install postgresql-15`).",
  );
}

/** initdb and postgres refuse to run as root: run them as the `postgres` user then. */
function asServerUser(command: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0
    ? ["runuser", ["-u", "postgres", "--", command, ...args]]
    : [command, args];
}

export class ThrowawayPostgres {
  private constructor(
    private readonly binDir: string,
    private readonly dir: string,
    readonly port: number,
  ) {}

  /** A new cluster (trust auth, user postgres) listening on a free port on 127.0.0.1. */
  static async start(): Promise<ThrowawayPostgres> {
    const binDir = serverBinDir();
    const dir = mkdtempSync(path.join(os.tmpdir(), "wxauth-pg-"));
    if (process.getuid?.() === 0) {
      const [uid, gid] = await Promise.all([
        run("id", ["-u", "postgres"]),
        run("id", ["-g", "postgres"]),
      ]).catch((error: unknown) => {
        throw new Error(
          "The PostgreSQL outage tests run as root, so they start the throwaway cluster as the " +
            "`postgres` user (initdb refuses root), and there is no such user.",
          { cause: error },
        );
      });
      chownSync(dir, Number(uid.stdout.trim()), Number(gid.stdout.trim()));
    }
    const cluster = new ThrowawayPostgres(binDir, dir, await freePort());
    await cluster.exec("initdb", [
      "-D",
      cluster.dataDir,
      "-U",
      "postgres",
      "--auth=trust",
      "--no-sync",
    ]);
    await cluster.start();
    return cluster;
  }

  private get dataDir(): string {
    return path.join(this.dir, "data");
  }

  url(database: string): string {
    return `postgresql://postgres@127.0.0.1:${this.port}/${database}`;
  }

  private async exec(tool: string, args: string[]): Promise<void> {
    const [command, fullArgs] = asServerUser(path.join(this.binDir, tool), args);
    try {
      await run(command, fullArgs, { cwd: this.dir });
    } catch (error) {
      const { stdout, stderr } = error as { stdout?: string; stderr?: string };
      throw new Error(`${tool} failed: ${stderr || stdout || (error as Error).message}`);
    }
  }

  /** Starts the server (again: crash recovery included) and waits until it accepts connections. */
  async start(): Promise<void> {
    await this.exec("pg_ctl", [
      "-D",
      this.dataDir,
      "-l",
      path.join(this.dir, "server.log"),
      "-o",
      `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off`,
      "-w",
      "start",
    ]);
  }

  /** Stops the server the way a crash or a lost host does: no shutdown checkpoint, connections cut. */
  async crash(): Promise<void> {
    await this.exec("pg_ctl", ["-D", this.dataDir, "-m", "immediate", "-w", "stop"]);
  }

  /** The postmaster and its children: SIGSTOP makes a server that accepts TCP but never answers. */
  private async serverPids(): Promise<number[]> {
    const postmaster = Number(
      readFileSync(path.join(this.dataDir, "postmaster.pid"), "utf8").split("\n")[0],
    );
    const { stdout } = await run("ps", ["-o", "pid=", "--ppid", String(postmaster)]);
    return [postmaster, ...stdout.split("\n").filter(Boolean).map(Number)];
  }

  private async signalServer(signal: NodeJS.Signals): Promise<void> {
    for (const pid of await this.serverPids()) {
      try {
        process.kill(pid, signal);
      } catch {
        // A backend that exited between the listing and the signal.
      }
    }
  }

  async freeze(): Promise<void> {
    await this.signalServer("SIGSTOP");
  }

  async thaw(): Promise<void> {
    await this.signalServer("SIGCONT");
  }

  /** Stops the server (thawing it first if needed) and deletes the cluster. */
  async destroy(): Promise<void> {
    try {
      await this.thaw();
    } catch {
      // Not running.
    }
    try {
      await this.crash();
    } catch {
      // Already stopped.
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
