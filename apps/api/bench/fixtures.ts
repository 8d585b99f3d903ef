/*
 * What the scenarios consume, prepared before the clock runs: registered users, one-time WeChat
 * codes and registration tickets. Minting goes to the sandbox's dev controls, never through the
 * measured API path.
 */
import {
  AuthenticatedSchema,
  RegistrationRequiredSchema,
  contract,
  type Authenticated,
} from "@wxauth/contracts";
import {
  SandboxLoginCodeResponseSchema,
  SandboxPhoneCodeResponseSchema,
  sandboxRoutes,
} from "@wxauth/contracts/sandbox";
import * as z from "zod/mini";

/** Preparation requests in flight at once: enough to be quick, few enough not to queue. */
const PREPARATION_CONCURRENCY = 16;

async function postJson<Schema extends z.ZodMiniType>(
  url: string,
  body: unknown,
  schema: Schema,
): Promise<z.output<Schema>> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`POST ${url} answered ${response.status}: ${text}`);
  return z.parse(schema, JSON.parse(text));
}

/** `make(i)` for i in [0, count), at most PREPARATION_CONCURRENCY at a time, in order. */
export async function prepare<T>(count: number, make: (index: number) => Promise<T>): Promise<T[]> {
  const results = new Array<T>(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const index = next++;
      results[index] = await make(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(PREPARATION_CONCURRENCY, count) }, worker));
  return results;
}

export interface Urls {
  api: string;
  sandbox: string;
}

export function mintLoginCode(sandbox: string, openid: string): Promise<string> {
  return postJson(
    `${sandbox}${sandboxRoutes.loginCode}`,
    { openid },
    SandboxLoginCodeResponseSchema,
  ).then((reply) => reply.code);
}

export function mintPhoneCode(
  sandbox: string,
  openid: string,
  phoneNumber: string,
): Promise<string> {
  return postJson(
    `${sandbox}${sandboxRoutes.phoneCode}`,
    { openid, phoneNumber },
    SandboxPhoneCodeResponseSchema,
  ).then((reply) => reply.code);
}

/** A first login: the API answers with a registration ticket for this openid. */
export async function registrationTicket(urls: Urls, openid: string): Promise<string> {
  const code = await mintLoginCode(urls.sandbox, openid);
  const reply = await postJson(
    `${urls.api}${contract.wechatLogin.path}`,
    { code },
    RegistrationRequiredSchema,
  );
  return reply.registrationTicket;
}

/** A user registered end to end (login, ticket, phone), with the session registration gave. */
export async function registerUser(
  urls: Urls,
  openid: string,
  phoneNumber: string,
): Promise<Authenticated> {
  const ticket = await registrationTicket(urls, openid);
  const phoneCode = await mintPhoneCode(urls.sandbox, openid, phoneNumber);
  return postJson(
    `${urls.api}${contract.wechatRegister.path}`,
    { registrationTicket: ticket, phoneCode },
    AuthenticatedSchema,
  );
}

/** Hands out prepared one-time values; counts how often it was asked once empty. */
export class Pool<T> {
  private next = 0;
  shortfall = 0;

  constructor(private readonly items: readonly T[]) {}

  take(): T | undefined {
    const item = this.items[this.next];
    if (item === undefined) this.shortfall++;
    else this.next++;
    return item;
  }

  get used(): number {
    return this.next;
  }
}
