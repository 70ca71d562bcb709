/**
 * A throwaway certificate authority for TLS fakes: production talks to Twilio and OpenAI over
 * https and wss, so the tests do too. The CA and a server certificate for `127.0.0.1` and
 * `localhost` are made fresh (ECDSA P-256, valid for a day) and the CA is written to a file that
 * a child process trusts through `NODE_EXTRA_CA_CERTS` (Node's https, which the twilio SDK uses)
 * and `DENO_CERT` (Deno's own fetch, WebSocket and TLS connections).
 *
 * @module
 */

import * as x509 from "@peculiar/x509";

/** A server certificate and key, as `Deno.serve` takes them. */
export interface TlsCert {
  cert: string;
  key: string;
}

/** A CA written to disk, and a certificate it issued for the loopback host. */
export interface TestCa {
  /** Path of the CA certificate (PEM). */
  caFile: string;
  /** The loopback server certificate, for the fakes. */
  server: TlsCert;
  /** The variables that make a child process trust the CA. */
  env: { NODE_EXTRA_CA_CERTS: string; DENO_CERT: string };
}

const ALGORITHM = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
const DAY_MS = 24 * 60 * 60 * 1000;

/** Makes a CA and a loopback server certificate; the CA file goes in `dir` (a temp dir by default). */
export async function createTestCa(dir?: string): Promise<TestCa> {
  x509.cryptoProvider.set(crypto);
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(Date.now() + DAY_MS);
  const caKeys = await crypto.subtle.generateKey(ALGORITHM, false, ["sign", "verify"]);
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: "CN=Callbridge throwaway test CA",
    notBefore,
    notAfter,
    keys: caKeys,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
    ],
  });
  const serverKeys = await crypto.subtle.generateKey(ALGORITHM, true, ["sign", "verify"]);
  const server = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: "CN=127.0.0.1",
    issuer: ca.subject,
    notBefore,
    notAfter,
    signingKey: caKeys.privateKey,
    publicKey: serverKeys.publicKey,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.SubjectAlternativeNameExtension([
        { type: "ip", value: "127.0.0.1" },
        { type: "dns", value: "localhost" },
      ]),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
    ],
  });
  const pkcs8 = await crypto.subtle.exportKey("pkcs8", serverKeys.privateKey);
  const folder = dir ?? await Deno.makeTempDir({ prefix: "callbridge-ca-" });
  const caFile = `${folder}/test-ca.pem`;
  await Deno.writeTextFile(caFile, ca.toString("pem"));
  return {
    caFile,
    server: {
      cert: server.toString("pem"),
      key: x509.PemConverter.encode(pkcs8, "PRIVATE KEY"),
    },
    env: { NODE_EXTRA_CA_CERTS: caFile, DENO_CERT: caFile },
  };
}

function randomSerial(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  bytes[0] &= 0x7f; // a positive serial number
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
