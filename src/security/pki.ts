// @peculiar/x509 resolves its ASN.1 schemas through tsyringe, which needs the Reflect
// metadata API installed before the library loads.
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { randomBytes, webcrypto } from "node:crypto";

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

/**
 * Certificates for a KVRaft cluster: one certificate authority per cluster, and
 * certificates it signs for members (server and client use at once: a member serves
 * its peer port and dials the others), for servers and for clients. ECDSA P-256 keys:
 * made in milliseconds, small handshakes, accepted by every TLS stack a client uses.
 *
 * @peculiar/x509 is chosen over node-forge (RSA only, slow key generation) and over
 * calling `openssl` (not in every image): it builds X.509 with WebCrypto, which Node has.
 */
const ALGORITHM = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
const DAY_MS = 24 * 60 * 60 * 1000;
/** Clocks of members differ a little: a certificate made now is valid from a bit ago. */
const CLOCK_SKEW_MS = 5 * 60 * 1000;
export const VALID_DAYS_BOUNDS = { min: 1, max: 3650 } as const;

export interface PemPair {
  readonly certPem: string;
  readonly keyPem: string;
}

export type CertificateUsage = "server" | "client" | "server-and-client";

export interface CertificateRequest {
  readonly commonName: string;
  readonly dnsNames?: readonly string[];
  readonly ipAddresses?: readonly string[];
  /** URIs in the subject alternative names: member identity (see member-identity.ts) or a client's role. */
  readonly uris?: readonly string[];
  readonly usage: CertificateUsage;
  readonly validDays: number;
}

/** A new self-signed certificate authority that can sign leaf certificates only. */
export async function makeCertificateAuthority(commonName: string, validDays: number): Promise<PemPair> {
  checkValidDays(validDays);
  const keys = await webcrypto.subtle.generateKey(ALGORITHM, true, ["sign", "verify"]) as CryptoKeyPair;
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(), name: `CN=${escapeName(commonName)}`,
    notBefore: new Date(now - CLOCK_SKEW_MS), notAfter: new Date(now + validDays * DAY_MS),
    signingAlgorithm: ALGORITHM, keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString("pem"), keyPem: await keyToPem(keys.privateKey) };
}

/** A leaf certificate for `request`, signed by `ca`. */
export async function issueCertificate(ca: PemPair, request: CertificateRequest): Promise<PemPair> {
  checkValidDays(request.validDays);
  const caCert = new x509.X509Certificate(ca.certPem);
  const caKey = await importKey(ca.keyPem);
  const keys = await webcrypto.subtle.generateKey(ALGORITHM, true, ["sign", "verify"]) as CryptoKeyPair;
  const names = [
    ...(request.dnsNames ?? []).map((value) => ({ type: "dns" as const, value })),
    ...(request.ipAddresses ?? []).map((value) => ({ type: "ip" as const, value })),
    ...(request.uris ?? []).map((value) => ({ type: "url" as const, value })),
  ];
  const usages = {
    server: [x509.ExtendedKeyUsage.serverAuth],
    client: [x509.ExtendedKeyUsage.clientAuth],
    "server-and-client": [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth],
  }[request.usage];
  const now = Date.now();
  const notAfter = Math.min(now + request.validDays * DAY_MS, caCert.notAfter.getTime());
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(), subject: `CN=${escapeName(request.commonName)}`, issuer: caCert.subject,
    notBefore: new Date(now - CLOCK_SKEW_MS), notAfter: new Date(notAfter),
    signingAlgorithm: ALGORITHM, publicKey: keys.publicKey, signingKey: caKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement, true),
      new x509.ExtendedKeyUsageExtension(usages, false),
      ...(names.length === 0 ? [] : [new x509.SubjectAlternativeNameExtension(names, false)]),
      await x509.AuthorityKeyIdentifierExtension.create(caCert, false),
    ],
  });
  return { certPem: cert.toString("pem"), keyPem: await keyToPem(keys.privateKey) };
}

/** When a PEM certificate stops being valid (for rotation before expiry). */
export function certificateNotAfter(certPem: string): Date {
  return new x509.X509Certificate(certPem).notAfter;
}

function checkValidDays(validDays: number): void {
  if (!Number.isSafeInteger(validDays) || validDays < VALID_DAYS_BOUNDS.min || validDays > VALID_DAYS_BOUNDS.max) {
    throw new RangeError(`validDays must be a whole number of days in [${VALID_DAYS_BOUNDS.min}, ${VALID_DAYS_BOUNDS.max}], got ${validDays}`);
  }
}

/** A positive 128-bit serial: RFC 5280 wants at most 20 octets, unique per issuer. */
function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] as number) & 0x7f;
  return bytes.toString("hex");
}

/** Distinguished-name text: commas, plus signs and the like would start another attribute. */
function escapeName(value: string): string {
  return value.replace(/([,+"\\<>;=#])/g, "\\$1");
}

async function keyToPem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey("pkcs8", key));
  const lines = der.toString("base64").match(/.{1,64}/g) ?? [];
  return `-----BEGIN PRIVATE KEY-----\n${lines.join("\n")}\n-----END PRIVATE KEY-----\n`;
}

async function importKey(pem: string): Promise<CryptoKey> {
  const match = /-----BEGIN PRIVATE KEY-----([^-]+)-----END PRIVATE KEY-----/.exec(pem);
  try {
    if (match === null) throw new Error("no BEGIN PRIVATE KEY block");
    return await webcrypto.subtle.importKey("pkcs8", Buffer.from((match[1] as string).replace(/\s+/g, ""), "base64"), ALGORITHM, false, ["sign"]);
  } catch (error) {
    throw new RangeError(`the CA key is not a PEM PKCS#8 ECDSA P-256 private key (${(error as Error).message}): use the key made with the CA`);
  }
}
