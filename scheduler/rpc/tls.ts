// Transport security for our gRPC (and HTTPS) endpoints, from PEM files named in flags or config. Files are read
// and checked once at start, so a wrong path or a key that does not belong to its certificate is a one-line
// ConfigError naming the flag (exit 2), not a handshake failure minutes later on the first connection.
// Roles: a worker (and the gateway's client-facing ports) is a server — its certificate and key, and optionally a
// client CA, which turns on mTLS (a peer without a certificate signed by that CA cannot even open a stream). The
// gateway is the workers' client — the CA its workers' certificates chain to, and its own client certificate.
// No files at all means insecure, the default (loopback development, tests, a cluster network you trust).
import * as grpc from '@grpc/grpc-js';
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';

import { ConfigError } from '../core/config/params.js';

/** A server's TLS material (PEM). clientCaPem set: clients must present a certificate chaining to it (mTLS). */
export interface ServerTls {
  certPem: Buffer;
  keyPem: Buffer;
  clientCaPem: Buffer | null;
}

/** A client's TLS material (PEM): the CA that server certificates must chain to, and an optional client pair. */
export interface ClientTls {
  caPem: Buffer;
  certPem: Buffer | null;
  keyPem: Buffer | null;
  /** The name to check the server's certificate against (and send as SNI) instead of the dialled host. */
  serverName: string | null;
}

/** File paths of a server's material; undefined = not given. */
export interface ServerTlsPaths {
  cert?: string | undefined;
  key?: string | undefined;
  clientCa?: string | undefined;
}

export interface ClientTlsPaths {
  ca?: string | undefined;
  cert?: string | undefined;
  key?: string | undefined;
  serverName?: string | undefined;
}

/** How each setting is named in errors: the flag (`--tls-cert`) or config path that gave it. */
export type Names<T> = { readonly [K in keyof T]-?: string };

export const WORKER_SERVER_NAMES: Names<ServerTlsPaths> = { cert: '--tls-cert', key: '--tls-key', clientCa: '--tls-client-ca' };
export const GATEWAY_CLIENT_NAMES: Names<ClientTlsPaths> = { ca: '--worker-tls-ca', cert: '--worker-tls-cert', key: '--worker-tls-key', serverName: '--worker-tls-server-name' };

function readPem(path: string, name: string): Buffer {
  if (path === '') throw new ConfigError(name, 'expected a file path, got an empty string');
  let data: Buffer;
  try {
    data = readFileSync(path);
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EACCES' ? 'permission denied' : e.code === 'EISDIR' ? 'a directory, not a file' : e.message;
    throw new ConfigError(name, `cannot read ${path}: ${why}`);
  }
  return data;
}

function parseCert(pem: Buffer, path: string, name: string, nowMs: number): X509Certificate {
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new ConfigError(name, `${path} is not a PEM certificate (no -----BEGIN CERTIFICATE----- block)`);
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem);
  } catch (error) {
    throw new ConfigError(name, `${path} is not a valid PEM certificate: ${(error as Error).message}`);
  }
  // A certificate past its end (or not yet valid) fails every handshake; say so now, with the dates.
  const toMs = Date.parse(cert.validTo);
  const fromMs = Date.parse(cert.validFrom);
  if (toMs < nowMs) throw new ConfigError(name, `the certificate in ${path} (${cert.subject.replace(/\n/g, ', ')}) expired on ${cert.validTo}`);
  if (fromMs > nowMs) throw new ConfigError(name, `the certificate in ${path} is not valid before ${cert.validFrom}`);
  return cert;
}

function parseKey(pem: Buffer, path: string, name: string): KeyObject {
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem.toString('latin1'))) throw new ConfigError(name, `${path} is not a PEM private key (no -----BEGIN ... PRIVATE KEY----- block)`);
  try {
    return createPrivateKey(pem);
  } catch (error) {
    throw new ConfigError(name, `${path} is not a usable private key (an encrypted key is not supported): ${(error as Error).message}`);
  }
}

/** Reads a certificate and its key, checking that they belong together. */
function readPair(certPath: string, keyPath: string, names: { cert: string; key: string }, nowMs: number): { certPem: Buffer; keyPem: Buffer } {
  const certPem = readPem(certPath, names.cert);
  const cert = parseCert(certPem, certPath, names.cert, nowMs);
  const keyPem = readPem(keyPath, names.key);
  const key = parseKey(keyPem, keyPath, names.key);
  if (!cert.checkPrivateKey(key)) throw new ConfigError(names.key, `the key in ${keyPath} does not match the certificate in ${certPath} (${names.cert})`);
  return { certPem, keyPem };
}

function readCa(path: string, name: string, nowMs: number): Buffer {
  const pem = readPem(path, name);
  parseCert(pem, path, name, nowMs);
  return pem;
}

/** The server's material, or null when no file is given (insecure). A partial set is an error naming what is missing. */
export function readServerTls(paths: ServerTlsPaths, names: Names<ServerTlsPaths> = WORKER_SERVER_NAMES, nowMs = Date.now()): ServerTls | null {
  if (paths.cert === undefined && paths.key === undefined) {
    if (paths.clientCa !== undefined) throw new ConfigError(names.clientCa, `needs ${names.cert} and ${names.key} (client certificates are checked over TLS only)`);
    return null;
  }
  if (paths.cert === undefined) throw new ConfigError(names.cert, `missing: ${names.key} was given, the certificate it belongs to is needed too`);
  if (paths.key === undefined) throw new ConfigError(names.key, `missing: ${names.cert} was given, its private key is needed too`);
  const pair = readPair(paths.cert, paths.key, names, nowMs);
  return { ...pair, clientCaPem: paths.clientCa !== undefined ? readCa(paths.clientCa, names.clientCa, nowMs) : null };
}

/** The client's material, or null when no file is given (insecure). A client pair needs the CA (TLS is on with it). */
export function readClientTls(paths: ClientTlsPaths, names: Names<ClientTlsPaths> = GATEWAY_CLIENT_NAMES, nowMs = Date.now()): ClientTls | null {
  const anyPair = paths.cert !== undefined || paths.key !== undefined;
  if (paths.ca === undefined) {
    if (anyPair) throw new ConfigError(names.ca, `missing: ${paths.cert !== undefined ? names.cert : names.key} was given; TLS needs the CA the servers' certificates chain to`);
    if (paths.serverName !== undefined) throw new ConfigError(names.serverName, `needs ${names.ca} (server names are checked over TLS only)`);
    return null;
  }
  if (paths.serverName !== undefined && !/^[A-Za-z0-9.-]{1,253}$/.test(paths.serverName)) {
    throw new ConfigError(names.serverName, `expected a DNS name, got '${paths.serverName}'`);
  }
  const caPem = readCa(paths.ca, names.ca, nowMs);
  let pair: { certPem: Buffer | null; keyPem: Buffer | null } = { certPem: null, keyPem: null };
  if (anyPair) {
    if (paths.cert === undefined) throw new ConfigError(names.cert, `missing: ${names.key} was given, the certificate it belongs to is needed too`);
    if (paths.key === undefined) throw new ConfigError(names.key, `missing: ${names.cert} was given, its private key is needed too`);
    pair = readPair(paths.cert, paths.key, names, nowMs);
  }
  return { caPem, ...pair, serverName: paths.serverName ?? null };
}

/** Whether the (first) certificate in certPem was issued and signed by the (first) one in caPem. */
export function signedBy(certPem: Buffer, caPem: Buffer): boolean {
  const cert = new X509Certificate(certPem);
  const ca = new X509Certificate(caPem);
  return cert.checkIssued(ca) && cert.verify(ca.publicKey);
}

/** gRPC server credentials: TLS (mTLS when a client CA is set) or insecure when tls is null. */
export function serverCredentials(tls: ServerTls | null | undefined): grpc.ServerCredentials {
  if (!tls) return grpc.ServerCredentials.createInsecure();
  // checkClientCertificate: a client without a certificate chaining to clientCaPem fails the handshake.
  return grpc.ServerCredentials.createSsl(tls.clientCaPem, [{ private_key: tls.keyPem, cert_chain: tls.certPem }], tls.clientCaPem !== null);
}

/** gRPC channel credentials and the channel options they need (the server-name override), or insecure. */
export function channelCredentials(tls: ClientTls | null | undefined): { credentials: grpc.ChannelCredentials; options: grpc.ChannelOptions } {
  if (!tls) return { credentials: grpc.credentials.createInsecure(), options: {} };
  return {
    credentials: grpc.credentials.createSsl(tls.caPem, tls.keyPem, tls.certPem),
    // grpc-js checks the certificate against this name and sends it as SNI (deployments dialling by IP or by a
    // name the certificate does not carry).
    options: tls.serverName !== null ? { 'grpc.ssl_target_name_override': tls.serverName } : {},
  };
}

/** One line for logs: what a server or client side uses. */
export function describeServerTls(tls: ServerTls | null | undefined): string {
  return !tls ? 'insecure' : tls.clientCaPem ? 'mTLS (client certificates required)' : 'TLS';
}

export function describeClientTls(tls: ClientTls | null | undefined): string {
  return !tls ? 'insecure' : tls.certPem ? 'mTLS (with a client certificate)' : 'TLS (no client certificate)';
}

// What a failed handshake looks like in grpc-js details (1.14: "No connection established. Last error: ..."), and
// what the gateway's operator should check. Matched on OpenSSL's and Node's reason strings, which are stable.
const TLS_HINTS: ReadonlyArray<[RegExp, string]> = [
  [/certificate required/i, 'the worker requires a client certificate: give the gateway --worker-tls-cert/--worker-tls-key signed by the worker\'s --tls-client-ca'],
  [/unable to verify|self[- ]signed certificate|unable to get (local )?issuer|certificate verify failed/i, 'the worker\'s certificate does not chain to --worker-tls-ca'],
  [/ERR_TLS_CERT_ALTNAME_INVALID|does not match certificate's altnames/i, 'the worker\'s certificate does not name the address dialled: add it to its subjectAltName, or set --worker-tls-server-name'],
  [/certificate has expired|certificate is not yet valid/i, 'a certificate is outside its validity dates'],
  [/wrong version number/i, 'the worker does not speak TLS (start it with --tls-cert/--tls-key, or drop --worker-tls-ca)'],
];

/**
 * A gRPC failure's details, tidied for one log line (OpenSSL's error-queue prefix, line breaks, timestamps and the
 * empty resolution note dropped), with a hint when it is a TLS problem. Other details pass through unchanged.
 */
export function explainTransportError(details: string): string {
  const hint = TLS_HINTS.find(([re]) => re.test(details))?.[1];
  if (hint === undefined) return details;
  const tidy = details
    // "80DC...:error:0A00045C:SSL routines:ssl3_read_bytes:tlsv13 alert certificate required:../deps/...:SSL alert number 116"
    .replace(/(?:Error: )?[0-9A-F]{8,}:error:[0-9A-F]+:SSL routines:[^:]*:([^:]+):[^\s:]+:\d+:(?:SSL alert number \d+)?/g, '$1')
    .replace(/\s*\(\d{4}-\d\d-\d\dT[\d:.]+Z\)/g, '')
    .replace(/\.?\s*Resolution note:\s*$/, '')
    .replace(/\s+/g, ' ')
    .trim();
  return `${tidy} (TLS: ${hint})`;
}
