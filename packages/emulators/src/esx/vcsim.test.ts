import { request } from 'node:https';
import { describe, expect, it } from 'vitest';
import { startVcsim } from './vcsim.js';

function get(url: string, ca?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => {
        body += c.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('startVcsim', () => {
  it('serves on loopback with a certificate the client can verify, and stops', async () => {
    const vc = await startVcsim();
    const about = new URL('/about', vc.url).toString();
    try {
      expect(vc.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/sdk$/);
      const res = await get(about, vc.caPem);
      expect(res.status).toBe(200);
      expect(res.body).toContain('RetrieveServiceContent');
      // without the CA the self-signed certificate is refused
      await expect(get(about)).rejects.toThrow(/self.signed|certificate/i);
    } finally {
      await vc.stop();
    }
    await expect(get(about, vc.caPem)).rejects.toThrow(/ECONNREFUSED/);
  });
});
