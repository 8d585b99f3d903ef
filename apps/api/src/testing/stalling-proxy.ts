/*
 * A TCP proxy in front of PostgreSQL that holds back the server's answer to the first BEGIN it
 * sees, until told to let it through: it stops a transaction halfway through starting, so a test
 * can close the client at exactly that moment.
 */
import { once } from "node:events";
import { createConnection, createServer, type Socket } from "node:net";

/*
 * BEGIN as a simple-protocol Query message: 'Q', the length (itself and the text) as an int32,
 * then the text and a NUL. node-postgres sends a statement without parameters this way, as
 * Kysely does its `begin`.
 */
const BEGIN_MESSAGE = Buffer.from([0x51, 0, 0, 0, 10, ...Buffer.from("begin\0", "latin1")]);

export class StallingProxy {
  private readonly sockets = new Set<Socket>();
  private held: { client: Socket; chunks: Buffer[] } | undefined;
  private released = false;
  private beginSeen!: () => void;
  /** Resolves once a BEGIN has been sent and its answer is being held. */
  readonly beginHeld = new Promise<void>((resolve) => (this.beginSeen = resolve));

  private constructor(
    private readonly server: ReturnType<typeof createServer>,
    readonly port: number,
  ) {}

  /** Listens on a free loopback port and forwards every connection to `target`. */
  static async start(target: { host: string; port: number }): Promise<StallingProxy> {
    const server = createServer();
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("no proxy port");
    const proxy = new StallingProxy(server, address.port);
    server.on("connection", (client) => proxy.forward(client, target));
    return proxy;
  }

  /** `url` (a postgresql:// URL) with its host and port replaced by the proxy's. */
  urlFor(url: string): string {
    const proxied = new URL(url);
    proxied.hostname = "127.0.0.1";
    proxied.port = String(this.port);
    return proxied.toString();
  }

  private forward(client: Socket, target: { host: string; port: number }): void {
    const server = createConnection(target);
    for (const socket of [client, server]) {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
      // One side gone ends the other; errors are the client's or the server's to report.
      socket.on("error", () => {});
    }
    client.on("close", () => server.destroy());
    server.on("close", () => client.destroy());
    client.on("data", (chunk) => {
      if (!this.held && !this.released && chunk.includes(BEGIN_MESSAGE)) {
        this.held = { client, chunks: [] };
        this.beginSeen();
      }
      server.write(chunk);
    });
    server.on("data", (chunk) => {
      if (this.held?.client === client) this.held.chunks.push(chunk);
      else client.write(chunk);
    });
  }

  /** Lets the held answer through; from then on everything passes. */
  release(): void {
    this.released = true;
    const held = this.held;
    this.held = undefined;
    for (const chunk of held?.chunks ?? []) held?.client.write(chunk);
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
