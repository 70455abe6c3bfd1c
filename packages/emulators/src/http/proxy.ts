import { type IncomingMessage, request, type ServerResponse } from 'node:http';

/**
 * Streams a request to an upstream server (moto, for the emulators in front of it) and its answer
 * back unchanged. `onError` answers when the upstream cannot be reached; after the headers are out
 * the response is cut instead.
 */
export function pipeToUpstream(
  upstream: URL,
  req: IncomingMessage,
  res: ServerResponse,
  onError: (error: Error) => void,
): void {
  const up = request(
    { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  up.on('error', (e) => (res.headersSent ? res.destroy() : onError(e)));
  req.pipe(up);
}
