import { z } from 'zod';

export const qemuOptions = z.object({
  image: z
    .string()
    .optional()
    .describe('disk image (qcow2 or raw) to boot with firmware; default: the project test image')
    .meta({ env: 'KOLA_QEMU_IMAGE', valueName: 'FILE' }),
  kernel: z
    .string()
    .optional()
    .describe('kernel to boot directly (with --qemu-initrd and --qemu-append); --qemu-image becomes its disk')
    .meta({ valueName: 'FILE' }),
  initrd: z.string().optional().describe('initrd for --qemu-kernel').meta({ valueName: 'FILE' }),
  append: z.string().optional().describe('kernel command line for --qemu-kernel').meta({ valueName: 'ARGS' }),
  flavor: z
    .enum(['systemd', 'minimal'])
    .default('systemd')
    .describe('test image built from Debian packages when no image or kernel is given')
    .meta({ env: 'KOLA_QEMU_FLAVOR' }),
  memory: z
    .number()
    .int()
    .min(128)
    .default(512)
    .describe('memory per machine in MiB')
    .meta({ valueName: 'MIB' }),
  cpus: z
    .number()
    .int()
    .min(1)
    .max(64)
    .default(1)
    .describe('virtual CPUs per machine')
    .meta({ valueName: 'N' }),
  accel: z
    .enum(['auto', 'kvm', 'tcg'])
    .default('auto')
    .describe('accelerator; auto uses KVM only where it really works, else TCG')
    .meta({ env: 'KOLA_QEMU_ACCEL' }),
  firmware: z.enum(['bios', 'uefi']).default('bios').describe('firmware for --qemu-image (uefi needs OVMF)'),
  binary: z
    .string()
    .default('qemu-system-x86_64')
    .describe('QEMU binary')
    .meta({ env: 'KOLA_QEMU_BINARY', valueName: 'PATH' }),
  imageCache: z
    .string()
    .optional()
    .describe('where built test images are cached (default $XDG_CACHE_HOME/kola/images)')
    .meta({ env: 'KOLA_IMAGE_CACHE', valueName: 'DIR' }),
  rebuildImage: z.boolean().default(false).describe('rebuild the test image even when cached'),
});

export type QemuOptions = z.output<typeof qemuOptions>;
