/*
 * `tsx bench/profile-top.ts <file.cpuprofile>... [rows]`: where a V8 CPU profile spent its time,
 * by function (self time) and by package, so a bench run's profile reads without DevTools. A
 * bench run leaves one profile per thread (the API's main thread and its WAL worker); each file
 * gets its own report.
 */
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const args = process.argv.slice(2);
const files = args.filter((arg) => !/^\d+$/.test(arg));
if (files.length === 0) {
  console.error("usage: tsx bench/profile-top.ts <file.cpuprofile>... [rows]");
  process.exit(2);
}
const rows = Number(args.find((arg) => /^\d+$/.test(arg)) ?? 30);

/** "express", "@prisma/client", "node:internal", "dist/main.js" (the API's own bundle). */
function owner(url: string): string {
  const modules = url.lastIndexOf("node_modules/");
  if (modules >= 0) {
    const rest = url.slice(modules + "node_modules/".length).split("/");
    return rest[0]?.startsWith("@") ? `${rest[0]}/${rest[1]}` : (rest[0] ?? url);
  }
  if (url.startsWith("node:")) return "node:internal";
  if (url === "") return "(native/VM)";
  return url.replace(/^.*\/apps\//, "apps/");
}

function report(file: string): void {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const nodesById = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const totalUs = [...selfUs.values()].reduce((sum, us) => sum + us, 0);

  const byFunction = new Map<string, number>();
  const byOwner = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const frame = nodesById.get(id)?.callFrame;
    if (!frame) continue;
    const where = frame.url ? `${owner(frame.url)}:${frame.lineNumber + 1}` : "";
    const name = `${frame.functionName || "(anonymous)"} ${where}`.trim();
    byFunction.set(name, (byFunction.get(name) ?? 0) + us);
    byOwner.set(owner(frame.url), (byOwner.get(owner(frame.url)) ?? 0) + us);
  }

  const print = (title: string, entries: Map<string, number>) => {
    process.stdout.write(`\n${title} (total ${(totalUs / 1e6).toFixed(2)} s)\n`);
    [...entries]
      .sort((a, b) => b[1] - a[1])
      .slice(0, rows)
      .forEach(([name, us]) =>
        process.stdout.write(`${((us / totalUs) * 100).toFixed(1).padStart(5)}%  ${name}\n`),
      );
  };
  // Inclusive: a sample counts once for every package and function on its stack, so a middleware's
  // cost includes what it calls (which self time alone spreads over node internals). Express calls
  // the next middleware from inside the previous one: subtract, do not read each one alone.
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes)
    for (const child of node.children ?? []) parentOf.set(child, node.id);
  const inclusive = new Map<string, number>();
  const inclusiveByFunction = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const owners = new Set<string>();
    const functions = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parentOf.get(at)) {
      const frame = nodesById.get(at)?.callFrame;
      if (!frame?.url) continue;
      owners.add(owner(frame.url));
      functions.add(
        `${frame.functionName || "(anonymous)"} ${owner(frame.url)}:${frame.lineNumber + 1}`,
      );
    }
    const us = profile.timeDeltas[i] ?? 0;
    for (const name of owners) inclusive.set(name, (inclusive.get(name) ?? 0) + us);
    for (const name of functions)
      inclusiveByFunction.set(name, (inclusiveByFunction.get(name) ?? 0) + us);
  });

  process.stdout.write(`\n== ${file}\n`);
  print("self time by package", byOwner);
  print("inclusive time by package", inclusive);
  print("self time by function", byFunction);
  print("inclusive time by function", inclusiveByFunction);
}

for (const file of files) report(file);
