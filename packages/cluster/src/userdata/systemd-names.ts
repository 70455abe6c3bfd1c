/** systemd unit and drop-in names as Ignition accepts them. */

const UNIT_SUFFIXES = [
  'service',
  'socket',
  'device',
  'mount',
  'automount',
  'swap',
  'target',
  'path',
  'timer',
  'snapshot',
  'slice',
  'scope',
];

export function unitNameProblem(name: string): string | undefined {
  if (name === '' || name.includes('/')) return `invalid systemd unit name ${JSON.stringify(name)}`;
  const dot = name.lastIndexOf('.');
  if (dot <= 0) return `systemd unit ${JSON.stringify(name)} has no unit suffix (e.g. .service)`;
  const ext = name.slice(dot + 1);
  if (!UNIT_SUFFIXES.includes(ext)) {
    return `invalid systemd unit extension ".${ext}" (expected one of ${UNIT_SUFFIXES.map((s) => `.${s}`).join(', ')})`;
  }
  return undefined;
}

export function dropinNameProblem(name: string): string | undefined {
  if (name.includes('/') || !name.endsWith('.conf') || name === '.conf') {
    return `invalid systemd drop-in name ${JSON.stringify(name)}: must end in .conf`;
  }
  return undefined;
}
