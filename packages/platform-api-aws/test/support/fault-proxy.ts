import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, request } from 'node:http';

export interface InjectedFault {
  status: number;
  code: string;
  message: string;
}

export interface FaultProxy {
  endpoint: string;
  /** EC2 actions seen, in order, with their parameters. */
  calls: Array<{ action: string; params: URLSearchParams }>;
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/**
 * An HTTP front for moto that answers chosen EC2 query calls with an error (capacity, throttling,
 * a bad parameter) and forwards everything else unchanged: how tests make EC2 fail on cue.
 */
export async function startFaultProxy(
  target: string,
  fault: (action: string, params: URLSearchParams, nth: number) => InjectedFault | undefined,
): Promise<FaultProxy> {
  const calls: FaultProxy['calls'] = [];
  const counts = new Map<string, number>();
  const upstream = new URL(target);
  const server = createServer(async (req, res) => {
    const body = await readBody(req);
    const params = new URLSearchParams(body.toString());
    const action = params.get('Action') ?? '';
    if (action) {
      const nth = (counts.get(action) ?? 0) + 1;
      counts.set(action, nth);
      calls.push({ action, params });
      const f = fault(action, params, nth);
      if (f) {
        res.writeHead(f.status, { 'content-type': 'text/xml' });
        res.end(
          `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>${f.code}</Code><Message>${f.message}</Message></Error></Errors><RequestID>${randomBytes(8).toString('hex')}</RequestID></Response>`,
        );
        return;
      }
    }
    const up = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: upstream.host, 'content-length': String(body.length) },
      },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    up.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    up.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as { port: number }).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
