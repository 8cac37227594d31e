// Throwaway certificates for tests: a CA (EC prime256v1, valid one day) and leaf certificates it signs, made by the
// `openssl` binary into a fresh temp dir that cleanup() removes. Nothing but that binary is needed: the OpenSSL
// config is written here too, so the system's openssl.cnf (which differs between distributions) plays no part.
// Leaves name 127.0.0.1 and localhost (subjectAltName) unless told otherwise; server leaves carry serverAuth,
// client leaves clientAuth, as real deployments' certificates do (OpenSSL checks the purpose of a peer's chain).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface CertFiles {
  certFile: string;
  keyFile: string;
}

export interface TestCa extends CertFiles {
  name: string;
  /** A leaf signed by this CA. `altNames`: subjectAltName entries (default IP:127.0.0.1, DNS:localhost). */
  issue(name: string, usage: 'server' | 'client', altNames?: readonly string[]): CertFiles;
}

export interface TestCerts {
  dir: string;
  newCa(name: string): TestCa;
  /** A fresh key with a self-signed certificate (no CA): for "key does not match" and "not signed by" cases. */
  selfSigned(name: string): CertFiles;
  cleanup(): void;
}

/** The usual set: one cluster CA with a server and a client leaf, and another CA with the same two (rejections). */
export interface TestPki {
  certs: TestCerts;
  ca: TestCa;
  server: CertFiles;
  client: CertFiles;
  otherCa: TestCa;
  otherServer: CertFiles;
  otherClient: CertFiles;
  cleanup(): void;
}

const DEFAULT_ALT_NAMES = ['IP:127.0.0.1', 'DNS:localhost'];

// Our own config: req needs a distinguished_name section; extensions are chosen per certificate below.
const CONFIG = `[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
`;

function openssl(dir: string, args: string[]): void {
  try {
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stderr?: Buffer };
    if (e.code === 'ENOENT') {
      throw new Error('test certificates need the openssl binary, which is not on PATH (Debian/Ubuntu: apt-get install openssl)');
    }
    throw new Error(`openssl ${args[0]} failed: ${e.stderr?.toString().trim() || e.message}`);
  }
}

const safe = (name: string): string => {
  if (!/^[A-Za-z0-9_-]{1,40}$/.test(name)) throw new RangeError(`certificate name: expected 1-40 of letters, digits, _ and -, got '${name}'`);
  return name;
};

const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export function makeTestCerts(): TestCerts {
  const dir = mkdtempSync(path.join(tmpdir(), 'nvlsched-certs-'));
  const config = path.join(dir, 'openssl.cnf');
  writeFileSync(config, CONFIG);
  let serial = 1;
  const files = (name: string): CertFiles => ({ certFile: path.join(dir, `${name}.crt`), keyFile: path.join(dir, `${name}.key`) });

  const selfSigned = (name: string, extensions?: string): CertFiles => {
    const out = files(safe(name));
    openssl(dir, ['req', '-x509', '-config', config, ...newKey, '-keyout', out.keyFile, '-out', out.certFile, '-days', '1', '-subj', `/CN=${name}`, ...(extensions ? ['-extensions', extensions] : [])]);
    return out;
  };

  const newCa = (name: string): TestCa => {
    const ca = selfSigned(name, 'ca_ext');
    const issue = (leaf: string, usage: 'server' | 'client', altNames: readonly string[] = DEFAULT_ALT_NAMES): CertFiles => {
      const out = files(safe(leaf));
      const csr = path.join(dir, `${leaf}.csr`);
      const ext = path.join(dir, `${leaf}.ext`);
      writeFileSync(ext, [
        'basicConstraints = critical, CA:FALSE',
        'keyUsage = critical, digitalSignature',
        `extendedKeyUsage = ${usage === 'server' ? 'serverAuth' : 'clientAuth'}`,
        ...(altNames.length > 0 ? [`subjectAltName = ${altNames.join(', ')}`] : []),
      ].join('\n') + '\n');
      openssl(dir, ['req', '-new', '-config', config, ...newKey, '-keyout', out.keyFile, '-out', csr, '-subj', `/CN=${leaf}`]);
      // -set_serial: no serial file beside the CA; each leaf gets its own number.
      openssl(dir, ['x509', '-req', '-in', csr, '-CA', ca.certFile, '-CAkey', ca.keyFile, '-set_serial', String(serial++), '-days', '1', '-out', out.certFile, '-extfile', ext]);
      return out;
    };
    return { name, ...ca, issue };
  };

  return { dir, newCa, selfSigned: (name) => selfSigned(name), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function makeTestPki(): TestPki {
  const certs = makeTestCerts();
  try {
    const ca = certs.newCa('cluster-ca');
    const otherCa = certs.newCa('other-ca');
    return {
      certs,
      ca,
      server: ca.issue('server', 'server'),
      client: ca.issue('client', 'client'),
      otherCa,
      otherServer: otherCa.issue('other-server', 'server'),
      otherClient: otherCa.issue('other-client', 'client'),
      cleanup: certs.cleanup,
    };
  } catch (error) {
    certs.cleanup();
    throw error;
  }
}
