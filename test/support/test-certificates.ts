// A throwaway certificate authority and one node certificate for 127.0.0.1 and
// localhost, made with the openssl command line for a test's run (never
// committed). Undefined, with the reason, where openssl is missing.

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface TestCertificates {
  readonly dir: string;
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
  /** A second authority's certificate and key: a stranger the cluster's CA never signed. */
  readonly strangerCert: string;
  readonly strangerKey: string;
}

export function opensslMissing(): string | undefined {
  try {
    execFileSync('openssl', ['version'], { stdio: 'pipe' });
    return undefined;
  } catch {
    return 'openssl is not installed, so no test certificates can be made';
  }
}

export function makeTestCertificates(dir: string): TestCertificates {
  fs.mkdirSync(dir, { recursive: true });
  const at = (name: string): string => path.join(dir, name);
  const openssl = (...args: string[]): void => void execFileSync('openssl', args, { stdio: 'pipe', cwd: dir });
  const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const selfSigned = (name: string, subject: string): void => openssl('req', '-x509', ...ecKey, '-keyout', at(`${name}-key.pem`), '-out', at(`${name}.pem`), '-days', '2', '-subj', subject);
  selfSigned('ca', '/CN=chorus test CA');
  selfSigned('stranger', '/CN=chorus stranger');
  openssl('req', ...ecKey, '-keyout', at('node-key.pem'), '-out', at('node.csr'), '-subj', '/CN=chorus node');
  fs.writeFileSync(at('node.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl('x509', '-req', '-in', at('node.csr'), '-CA', at('ca.pem'), '-CAkey', at('ca-key.pem'), '-CAcreateserial', '-out', at('node.pem'), '-days', '2', '-extfile', at('node.ext'));
  return { dir, ca: at('ca.pem'), cert: at('node.pem'), key: at('node-key.pem'), strangerCert: at('stranger.pem'), strangerKey: at('stranger-key.pem') };
}
