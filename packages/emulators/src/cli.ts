import { parseArgs } from 'node:util';
import type { EmulatedCloud } from './aws/emulator.js';

/**
 * `kola-emulator <cloud> [--port N] [--machines qemu|ssh|none] [--flavor minimal|systemd]`: starts
 * one emulated cloud on 127.0.0.1, prints one JSON line once it is ready — the environment and the
 * flags that point kola and ore at it — and runs until SIGTERM/SIGINT, then destroys every machine
 * it started.
 */
const usage =
  'usage: kola-emulator <cloud> [--port N] [--machines qemu|ssh|none] [--flavor minimal|systemd] [--faults RATE] [--seed N] (clouds: aws, do, gce, packet, azure)';

const clouds: Record<
  string,
  (s: Parameters<typeof import('./aws/emulator.js').startAwsEmulator>[0]) => Promise<EmulatedCloud>
> = {
  aws: async (s) => (await import('./aws/emulator.js')).startAwsEmulator(s),
  do: async (s) => (await import('./do/emulator.js')).startDoEmulator(s),
  gce: async (s) => (await import('./gce/emulator.js')).startGceEmulator(s),
  packet: async (s) => (await import('./packet/emulator.js')).startPacketEmulator(s),
  azure: async (s) => (await import('./azure/emulator.js')).startAzureEmulator(s),
};

export async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        port: { type: 'string' },
        machines: { type: 'string', default: 'qemu' },
        flavor: { type: 'string', default: 'minimal' },
        faults: { type: 'string' },
        seed: { type: 'string', default: '1' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    process.stderr.write(`kola-emulator: ${(e as Error).message}\n${usage}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  const cloud = positionals[0] ?? '';
  const start = clouds[cloud];
  const machines = String(values.machines);
  const flavor = String(values.flavor);
  const port = values.port === undefined ? undefined : Number(values.port);
  const faultRate = values.faults === undefined ? undefined : Number(values.faults);
  const seed = Number(values.seed);
  const problem = !start
    ? `unknown cloud "${cloud}"`
    : !['qemu', 'ssh', 'none'].includes(machines)
      ? `--machines: "${machines}" is not qemu, ssh or none`
      : !['minimal', 'systemd'].includes(flavor)
        ? `--flavor: "${flavor}" is not minimal or systemd`
        : port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536)
          ? `--port: "${values.port}" is not a port number`
          : faultRate !== undefined && !(faultRate >= 0 && faultRate <= 1)
            ? `--faults: "${values.faults}" is not a rate between 0 and 1`
            : !Number.isInteger(seed)
              ? `--seed: "${values.seed}" is not a whole number`
              : undefined;
  if (problem || !start) {
    process.stderr.write(`kola-emulator: ${problem}\n${usage}\n`);
    return 2;
  }
  const emulator = await start({
    machines: machines as 'qemu' | 'ssh' | 'none',
    flavor: flavor as 'minimal' | 'systemd',
    ...(port ? { port } : {}),
    ...(faultRate ? { faults: { rate: faultRate, seed } } : {}),
    log: (line) => process.stderr.write(`kola-emulator: ${line}\n`),
  });
  process.stdout.write(`${JSON.stringify({ env: emulator.env, kola: emulator.kola, ore: emulator.ore })}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
  });
  await emulator.stop();
  return 0;
}
