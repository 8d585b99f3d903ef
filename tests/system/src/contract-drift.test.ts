/**
 * The point of packages/contracts: a change to the wire format breaks the type-check of every
 * consumer that is out of date. This test renames one field in a copy of the contracts, builds its
 * declarations, and type-checks the API and the mini program against that copy. The control run
 * against an unmodified copy must pass, so the failure is the rename's and nothing else's.
 */
import { execFile } from "node:child_process";
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
// Inside the repo so the copy resolves zod from this package's node_modules.
const workDir = resolve(repo, "tests/system/.tmp/contract-drift");
const bin = (pkg: string, name: string) => join(repo, pkg, "node_modules/.bin", name);

/** Runs a compiler without blocking the test worker (a type-check takes tens of seconds). */
function run(
  file: string,
  args: string[],
  cwd = repo,
): Promise<{ status: number; output: string }> {
  return new Promise((resolveRun) => {
    execFile(file, args, { cwd, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const status = error ? (typeof error.code === "number" ? error.code : 1) : 0;
      resolveRun({ status, output: stdout + stderr });
    });
  });
}

interface Variant {
  name: string;
  edit: (schemasSource: string) => string;
}

const consumers = [
  { pkg: "apps/api", checker: bin("apps/api", "tsc") },
  { pkg: "apps/miniapp", checker: bin("apps/miniapp", "vue-tsc") },
];

async function buildContracts(variant: Variant): Promise<string> {
  const out = join(workDir, variant.name);
  rmSync(out, { recursive: true, force: true });
  cpSync(join(repo, "packages/contracts/src"), join(out, "src"), { recursive: true });
  const schemasPath = join(out, "src/schemas.ts");
  writeFileSync(schemasPath, variant.edit(readFileSync(schemasPath, "utf8")));
  writeFileSync(
    join(out, "tsconfig.json"),
    JSON.stringify({
      extends: join(repo, "tsconfig.base.json"),
      compilerOptions: {
        noEmit: false,
        declaration: true,
        emitDeclarationOnly: true,
        outDir: "dist",
        rootDir: "src",
        types: [],
      },
      include: ["src"],
      exclude: ["src/**/*.test.ts"],
    }),
  );
  const result = await run(bin("tests/system", "tsc"), ["-p", join(out, "tsconfig.json")]);
  expect(result.output, `building ${variant.name} contracts`).toBe("");
  return join(out, "dist");
}

async function typecheck(
  consumer: (typeof consumers)[number],
  contractsDist: string,
  tag: string,
): Promise<{ status: number; output: string }> {
  const config = join(repo, consumer.pkg, `tsconfig.drift-${tag}.json`);
  writeFileSync(
    config,
    JSON.stringify({
      extends: "./tsconfig.json",
      compilerOptions: {
        noEmit: true,
        paths: {
          "@wxauth/contracts": [join(contractsDist, "index.d.ts")],
          "@wxauth/contracts/openapi": [join(contractsDist, "openapi.d.ts")],
          "@wxauth/contracts/sandbox": [join(contractsDist, "sandbox.d.ts")],
          "@wxauth/contracts/admin": [join(contractsDist, "admin.d.ts")],
        },
      },
    }),
  );
  try {
    return await run(consumer.checker, ["-p", config], join(repo, consumer.pkg));
  } finally {
    rmSync(config, { force: true });
  }
}

describe("contract drift breaks every out-of-date consumer", () => {
  let original = "";
  let renamed = "";

  beforeAll(async () => {
    mkdirSync(workDir, { recursive: true });
    original = await buildContracts({ name: "original", edit: (source) => source });
    renamed = await buildContracts({
      name: "renamed",
      edit: (source) => {
        const edited = source.replace(/^ {2}accessToken:/m, "  bearerToken:");
        expect(edited, "the rename must apply to the schemas source").not.toBe(source);
        return edited;
      },
    });
  });

  afterAll(() => rmSync(workDir, { recursive: true, force: true }));

  for (const consumer of consumers) {
    it(`${consumer.pkg} type-checks against the contracts as they are`, async () => {
      const { status, output } = await typecheck(consumer, original, "original");
      expect(output).toBe("");
      expect(status).toBe(0);
    });

    it(`${consumer.pkg} fails to type-check once accessToken is renamed`, async () => {
      const { status, output } = await typecheck(consumer, renamed, "renamed");
      expect(status).not.toBe(0);
      expect(output).toMatch(/accessToken|bearerToken/);
    });
  }
});
