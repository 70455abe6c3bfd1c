import { Client } from 'ssh2';

/** Logs in as core at host:22 with `privateKey`: 'ok', or why not (the SSH client's message). */
export function tryLogin(host: string, privateKey: string, readyTimeoutMs = 10_000): Promise<'ok' | string> {
  return new Promise((resolve) => {
    const client = new Client();
    client
      .on('ready', () => {
        client.end();
        resolve('ok');
      })
      .on('error', (e) => resolve(e.message))
      .connect({ host, port: 22, username: 'core', privateKey, readyTimeout: readyTimeoutMs });
  });
}
