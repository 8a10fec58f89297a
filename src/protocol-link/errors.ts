/**
 * The other end's TLS certificate did not verify against the CA given (another CA,
 * expired, another name), it refused ours, or it speaks no TLS on that port at all: the
 * message says which. Retrying the
 * same address with the same settings fails the same way, so the client library turns
 * it into its TlsVerificationError, which it does not retry.
 */
export class CertificateRejectedError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}
