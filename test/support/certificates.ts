import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand } from './cli.ts';

export interface Certificates {
  readonly caFile: string;
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

/**
 * A throwaway CA (ca.pem) and a server certificate signed by it (server.pem, server.key) in `dir`,
 * for `subjectAltName` (e.g. `IP:127.0.0.1` or `DNS:*.dkr.ecr.eu-west-1.amazonaws.com,DNS:…`).
 * P-256 keys and a one-day life: made in milliseconds, and never valid anywhere else.
 */
export async function writeCertificates(
  dir: string,
  { subjectAltName, commonName, caName }: { subjectAltName: string; commonName: string; caName: string },
): Promise<Certificates> {
  const caFile = join(dir, 'ca.pem');
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await writeFile(
    join(dir, 'server.ext'),
    `subjectAltName=${subjectAltName}\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n`,
  );
  await openssl(
    ['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', caFile, '-days', '1', '-subj', `/CN=${caName}`],
    dir,
  );
  await openssl(
    ['req', '-new', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', `/CN=${commonName}`],
    dir,
  );
  const serial = ['-set_serial', `0x${randomBytes(8).toString('hex')}`];
  const sign = ['x509', '-req', '-in', 'server.csr', '-CA', caFile, '-CAkey', 'ca.key', ...serial, '-days', '1'];
  await openssl([...sign, '-extfile', 'server.ext', '-out', 'server.pem'], dir);
  const [ca, cert, key] = await Promise.all(
    [caFile, join(dir, 'server.pem'), join(dir, 'server.key')].map((file) => readFile(file, 'utf8')),
  );
  return { caFile, ca: ca ?? '', cert: cert ?? '', key: key ?? '' };
}

async function openssl(args: readonly string[], cwd: string): Promise<void> {
  const result = await runCommand('openssl', args, { cwd, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
  if (result.code !== 0)
    throw new Error(`openssl ${args.slice(0, 2).join(' ')} failed (${String(result.code)}): ${result.stderr}`);
}
