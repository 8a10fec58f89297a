import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { CLIENT_ROLES, type ClientRole } from "./member-identity.js";

/**
 * Client tokens and their roles. The token file is a CSV like Kubernetes' static token
 * file: one `token,name,role` per line (`#` starts a comment), role one of read-only,
 * read-write, admin. Tokens are kept only as SHA-256 digests and looked up by digest, so
 * neither the comparison nor the lookup takes time that depends on how much of a guess
 * was right, and a heap dump holds no token.
 */
export type Action = "read" | "write" | "admin";

export interface Principal {
  readonly name: string;
  readonly role: ClientRole;
}

/** Shorter tokens are refused at start: a guessable token is no protection. */
export const TOKEN_CHARS_MIN = 16;
export const TOKENS_MAX = 10_000;

const ALLOWED: { readonly [R in ClientRole]: readonly Action[] } = {
  "read-only": ["read"],
  "read-write": ["read", "write"],
  admin: ["read", "write", "admin"],
};

export function roleAllows(role: ClientRole, action: Action): boolean {
  return ALLOWED[role].includes(action);
}

export class TokenFileError extends Error {
  override readonly name = "TokenFileError";
}

export class TokenStore {
  private readonly byDigest = new Map<string, Principal>();

  /** Parses token-file text; `source` names the file in errors. */
  static parse(text: string, source: string): TokenStore {
    const store = new TokenStore();
    const lines = text.split(/\r?\n/);
    lines.forEach((raw, i) => {
      const line = raw.trim();
      if (line === "" || line.startsWith("#")) return;
      const where = `${source}:${i + 1}`;
      const fields = line.split(",").map((f) => f.trim());
      if (fields.length !== 3) throw new TokenFileError(`${where}: expected token,name,role (3 fields), got ${fields.length}`);
      const [token, name, role] = fields as [string, string, string];
      if (!(CLIENT_ROLES as readonly string[]).includes(role)) throw new TokenFileError(`${where}: role "${role}" is not one of ${CLIENT_ROLES.join(", ")}`);
      store.add(token, { name, role: role as ClientRole }, where);
    });
    if (store.byDigest.size === 0) throw new TokenFileError(`${source} holds no token: an empty token file would let nobody in (or, worse, be mistaken for no authentication); give at least one token,name,role line`);
    return store;
  }

  static fromFile(file: string): TokenStore {
    return TokenStore.parse(readTokenFile(file), file);
  }

  /** The store of one admin token (`--admin-token-file`: the whole file is the token). */
  static single(token: string, principal: Principal, source: string): TokenStore {
    const store = new TokenStore();
    store.add(token, principal, source);
    return store;
  }

  /** Both stores' tokens (a token in both must name the same principal). */
  merge(other: TokenStore): TokenStore {
    const merged = new TokenStore();
    for (const [digest, principal] of [...this.byDigest, ...other.byDigest]) merged.byDigest.set(digest, principal);
    return merged;
  }

  get size(): number {
    return this.byDigest.size;
  }

  lookup(token: string): Principal | undefined {
    return this.byDigest.get(digestOf(token));
  }

  private add(token: string, principal: Principal, where: string): void {
    if (token.length < TOKEN_CHARS_MIN) throw new TokenFileError(`${where}: the token is shorter than ${TOKEN_CHARS_MIN} characters: make one with \`openssl rand -hex 32\``);
    if (principal.name === "") throw new TokenFileError(`${where}: the name is empty (it names the token in logs)`);
    if (this.byDigest.size >= TOKENS_MAX) throw new TokenFileError(`${where}: more than ${TOKENS_MAX} tokens`);
    const digest = digestOf(token);
    if (this.byDigest.has(digest)) throw new TokenFileError(`${where}: this token appears twice`);
    this.byDigest.set(digest, principal);
  }
}

/** A file that holds one token (the admin token file): refused when empty or short. */
export function readSingleToken(file: string, flag: string): string {
  const token = readTokenFile(file).trim();
  if (token === "") throw new TokenFileError(`${flag} ${file} is empty: an empty token would open the admin API to everyone; write a token of at least ${TOKEN_CHARS_MIN} characters (\`openssl rand -hex 32 > ${file}\`)`);
  if (token.length < TOKEN_CHARS_MIN) throw new TokenFileError(`${flag} ${file} holds a token shorter than ${TOKEN_CHARS_MIN} characters: make one with \`openssl rand -hex 32\``);
  return token;
}

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = header === undefined ? null : /^Bearer ([^\s]+)\s*$/i.exec(header);
  return match === null ? undefined : match[1];
}

function readTokenFile(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (error) {
    throw new TokenFileError(`the token file ${file} cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

function digestOf(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}
