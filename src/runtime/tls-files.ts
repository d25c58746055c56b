// The TLS options a node's sockets use, from the PEM files cluster.yaml names
// (security-config.ts). Files are read once, at the node's start: a missing or
// unreadable file stops the start with its name, and a changed certificate
// takes effect at the next restart.

import * as fs from 'node:fs';
import type * as tls from 'node:tls';
import type { ClusterConfig, NodeAddress } from './config.js';

export interface NodeTls {
  /** The client port's server side, when clients must use TLS. */
  readonly clients: tls.TlsOptions | undefined;
  /** The peer port's server side and this node's dials, when peers use TLS. */
  readonly peerServer: tls.TlsOptions | undefined;
  readonly peerDial: tls.ConnectionOptions | undefined;
}

export const NO_TLS: NodeTls = { clients: undefined, peerServer: undefined, peerDial: undefined };

export function nodeTls(config: ClusterConfig, address: NodeAddress): NodeTls {
  const settings = config.tls;
  if (settings === undefined) return NO_TLS;
  const cert = readPem(address.tls?.cert ?? settings.cert, 'certificate');
  const key = readPem(address.tls?.key ?? settings.key, 'private key');
  const ca = settings.ca === undefined ? undefined : readPem(settings.ca, 'certificate authority');
  const clients: tls.TlsOptions | undefined = settings.clients
    ? { cert, key, ...(ca === undefined ? {} : { ca }), requestCert: settings.verifyClients, rejectUnauthorized: settings.verifyClients }
    : undefined;
  if (!settings.peers) return { clients, peerServer: undefined, peerDial: undefined };
  // Both ends of a peer link show their certificate and check the other's against the cluster's CA.
  const handshakeTimeout = config.connections.authTimeoutMs;
  return {
    clients,
    peerServer: { cert, key, ca, requestCert: true, rejectUnauthorized: true, handshakeTimeout },
    peerDial: { cert, key, ca, rejectUnauthorized: true },
  };
}

function readPem(file: string, what: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (error) {
    throw new Error(`cannot read the TLS ${what} ${file}: ${(error as Error).message}`);
  }
}
