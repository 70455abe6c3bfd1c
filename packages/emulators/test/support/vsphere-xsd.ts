import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * Checks request envelopes against VMware's vim25 XSDs in ../shared/specs/vsphere. Their licence
 * forbids copying them into the repo, so they are read from there only, and the check is skipped
 * with a printed reason when the folder or xmllint is missing.
 */
export const vsphereSpecDir = resolve(process.env.KOLA_VSPHERE_SPECS ?? '/work/shared/specs/vsphere/vim25');

export function vsphereXsdUnavailable(): string | undefined {
  if (!existsSync(join(vsphereSpecDir, 'vim-messagetypes.xsd'))) {
    return `vim25 XSDs not found in ${vsphereSpecDir} (they may not be copied into the repo): envelope schema checks skipped`;
  }
  try {
    execFileSync('xmllint', ['--version'], { stdio: 'ignore' });
  } catch {
    return 'xmllint (apt libxml2-utils) is not installed: envelope schema checks skipped';
  }
  return undefined;
}

/** xmllint's complaints about the Body's element of a SOAP envelope ('' when valid). */
export function checkEnvelope(envelope: string): string {
  const body = /<soapenv:Body>([\s\S]*)<\/soapenv:Body>/.exec(envelope)?.[1];
  if (!body) return 'no soapenv:Body';
  const dir = mkdtempSync(join(tmpdir(), 'kola-xsd-'));
  try {
    const doc = body.replace(
      /^<([A-Za-z_]+) xmlns="urn:vim25">/,
      '<$1 xmlns="urn:vim25" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">',
    );
    writeFileSync(join(dir, 'body.xml'), doc);
    writeFileSync(
      join(dir, 'wrap.xsd'),
      `<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:import namespace="urn:vim25" schemaLocation="${join(vsphereSpecDir, 'vim-messagetypes.xsd')}"/></xs:schema>`,
    );
    try {
      execFileSync('xmllint', ['--noout', '--schema', join(dir, 'wrap.xsd'), join(dir, 'body.xml')], {
        stdio: 'pipe',
      });
      return '';
    } catch (err) {
      return String((err as { stderr?: Buffer }).stderr ?? err);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
