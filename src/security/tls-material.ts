import { readFileSync, statSync } from "node:fs";
import * as tls from "node:tls";

/**
 * The files of one TLS endpoint, named as etcd names its flags: `--cert-file`,
 * `--key-file`, `--trusted-ca-file`, `--client-cert-auth` (and `--peer-*` for the peer
 * port, where client certificates are always required).
 */
export interface TlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
  /** The CA that signs the other side's certificates; undefined: the system's CAs. */
  readonly trustedCaFile: string | undefined;
  /** Ask for a client certificate and refuse a connection without a valid one. */
  readonly clientCertAuth: boolean;
}

export interface TlsPem {
  readonly cert: string;
  readonly key: string;
  readonly ca: string | undefined;
}

/** Certificate files are checked for changes this often (a rotated Secret lands within a minute on a pod). */
export const TLS_RELOAD_CHECK_MS_DEFAULT = 1000;

export class TlsFilesError extends Error {
  override readonly name = "TlsFilesError";
}

/**
 * The current certificate, key and CA of an endpoint, reloaded when a file changes, so
 * that rotated certificates take effect without a restart: servers get the new context
 * for new connections (`tls.Server.setSecureContext`), dialers read `pem()` per dial.
 * A change that does not load (a half-written file, a key that does not match) keeps
 * the old material and is reported; the next change is tried again.
 */
export class TlsMaterial {
  private current: TlsPem;
  private stamp: string;
  private timer: NodeJS.Timeout | undefined;
  private readonly listeners: Array<(pem: TlsPem) => void> = [];

  private constructor(readonly files: TlsFiles) {
    this.current = loadPem(files);
    this.stamp = fileStamp(files);
  }

  /** Loads the files now; throws TlsFilesError naming the file that is missing or wrong. */
  static load(files: TlsFiles): TlsMaterial {
    return new TlsMaterial(files);
  }

  pem(): TlsPem {
    return this.current;
  }

  /** Options for `tls.createServer` / `setSecureContext`. */
  serverOptions(): tls.TlsOptions {
    const { cert, key, ca } = this.current;
    return {
      cert, key, ...(ca === undefined ? {} : { ca }),
      requestCert: this.files.clientCertAuth, rejectUnauthorized: this.files.clientCertAuth,
      minVersion: "TLSv1.2",
    };
  }

  /** Options for `tls.connect`: this side's certificate (as a client) and the CA to trust. */
  clientOptions(): tls.ConnectionOptions {
    const { cert, key, ca } = this.current;
    return { cert, key, ...(ca === undefined ? {} : { ca }), minVersion: "TLSv1.2" };
  }

  /** Calls `onChange` with the new material after each reload; `onError` when a change does not load. */
  watch(onChange: (pem: TlsPem) => void, onError: (error: Error) => void, checkMs = TLS_RELOAD_CHECK_MS_DEFAULT): void {
    this.listeners.push(onChange);
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => this.check(onError), checkMs);
    this.timer.unref();
  }

  /** Keeps a server's context current: new connections get the reloaded certificate. */
  keepServerCurrent(server: tls.Server, onError: (error: Error) => void, checkMs?: number): void {
    this.watch(() => server.setSecureContext(this.serverOptions()), onError, checkMs);
  }

  close(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private check(onError: (error: Error) => void): void {
    let stamp: string;
    try {
      stamp = fileStamp(this.files);
    } catch (error) {
      onError(error as Error);
      return;
    }
    if (stamp === this.stamp) return;
    this.stamp = stamp;
    try {
      this.current = loadPem(this.files);
    } catch (error) {
      onError(error as Error);
      return;
    }
    for (const listener of this.listeners) listener(this.current);
  }
}

function loadPem(files: TlsFiles): TlsPem {
  const cert = readPem(files.certFile, "certificate (--cert-file)");
  const key = readPem(files.keyFile, "key (--key-file)");
  const ca = files.trustedCaFile === undefined ? undefined : readPem(files.trustedCaFile, "trusted CA (--trusted-ca-file)");
  try {
    tls.createSecureContext({ cert, key, ...(ca === undefined ? {} : { ca }) });
  } catch (error) {
    throw new TlsFilesError(`the certificate ${files.certFile} and key ${files.keyFile} do not load together: ${(error as Error).message}; check that the key belongs to the certificate`);
  }
  return { cert, key, ca };
}

function readPem(file: string, what: string): string {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new TlsFilesError(`the TLS ${what} ${file} cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  if (!text.includes("-----BEGIN ")) throw new TlsFilesError(`the TLS ${what} ${file} holds no PEM block (-----BEGIN ...)`);
  return text;
}

/** Size and modification time of every file: a Secret update swaps a symlink, which changes both. */
function fileStamp(files: TlsFiles): string {
  return [files.certFile, files.keyFile, files.trustedCaFile].filter((f): f is string => f !== undefined)
    .map((file) => {
      const stat = statSync(file);
      return `${stat.size}:${stat.mtimeMs}:${stat.ino}`;
    }).join("|");
}
