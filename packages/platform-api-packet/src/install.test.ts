import { describe, expect, it } from 'vitest';
import { ipxeScript, wrapUserData } from './install.js';
import { boardSettings, metroOf, packetOptions } from './options.js';

const fileSource = (config: string, path: string) => {
  const f = (
    JSON.parse(config) as { storage: { files: Array<{ path: string; contents: { source: string } }> } }
  ).storage.files.find((x) => x.path === path);
  return decodeURIComponent(f!.contents.source.replace(/^data:,/, ''));
};

describe('the iPXE install', () => {
  it('wraps an Ignition config as /userdata, installed with -i; cloud-config with -c and the noop config', () => {
    const ign = '{"ignition":{"version":"3.3.0"}}';
    const wrapped = wrapUserData(ign, 'http://img/x.bin.bz2');
    expect(fileSource(wrapped, '/userdata')).toBe(ign);
    const units = (
      JSON.parse(wrapped) as {
        systemd: { units: Array<{ name: string; contents?: string; mask?: boolean }> };
      }
    ).systemd.units;
    expect(units.find((u) => u.name === 'discard.socket')?.contents).toContain('ListenStream=0.0.0.0:9');
    expect(units.find((u) => u.name === 'sshd.service')?.mask).toBe(true);
    const installer = units.find((u) => u.name === 'installer.service')!.contents!;
    expect(installer).toContain('-f /var/tmp/image.bin.bz2 -i /userdata');
    expect(installer).toContain('curl --fail --retry 5 -o /var/tmp/image.bin.bz2 http://img/x.bin.bz2');
    const cc = wrapUserData('#cloud-config\nhostname: x\n', 'http://img/x.bin.bz2');
    expect(JSON.stringify(JSON.parse(cc).systemd.units)).toContain('-i /noop.ign -c /userdata');
  });

  it('names the config URL on the kernel line with the board’s console', () => {
    const board = boardSettings(packetOptions.parse({ board: 'arm64-usr' }));
    const script = ipxeScript({
      installerBaseUrl: board.installerBaseUrl,
      configUrl: 'http://s/c?sig=1',
      console: board.console,
    });
    expect(script.split('\n')[0]).toBe('#!ipxe');
    expect(script).toContain('coreos.config.url=http://s/c?sig=1 console=ttyAMA0,115200');
    expect(board.plan).toBe('c3.large.arm64');
  });

  it('maps mantle’s facility to its metro', () => {
    expect(metroOf(packetOptions.parse({ facility: 'sjc1' }))).toBe('sv');
    expect(metroOf(packetOptions.parse({}))).toBe('sv');
    expect(metroOf(packetOptions.parse({ metro: 'da' }))).toBe('da');
  });
});
