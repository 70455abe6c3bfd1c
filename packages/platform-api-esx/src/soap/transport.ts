import type { IncomingMessage } from 'node:http';
import { Agent, request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';
import { abortReason, errorMessage } from '@mantle/cluster';
import { EsxTransportError, faultOf } from './faults.js';
import { child, envelope, type MoRef, parseXml, type XmlValue } from './xml.js';

export interface SoapTransportOptions {
  /** `https://host[:port]/sdk` */
  url: string;
  /** PEM of CAs to trust besides the system's (`--esx-ca`). */
  ca?: string;
  /** Accept any certificate (`--esx-insecure`). Off by default: mantle never verified. */
  insecure?: boolean;
  /** One call's limit (default 120 s): a hung connection is an error, not a hang. */
  requestTimeoutMs?: number;
  /** Sees every request envelope sent (tests record them). */
  onEnvelope?: (method: string, xml: string) => void;
}

export interface HttpAnswer {
  status: number;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

/**
 * vim25 over HTTPS: one keep-alive agent, the session cookie the server sets kept for every later
 * call (SOAP and datastore/NFC file transfers), TLS verified unless told otherwise.
 */
export class SoapTransport {
  readonly url: URL;
  private readonly agent: Agent;
  private cookie: string | undefined;
  private readonly timeoutMs: number;
  private readonly onEnvelope: ((method: string, xml: string) => void) | undefined;

  constructor(options: SoapTransportOptions) {
    this.url = new URL(options.url);
    if (this.url.protocol !== 'https:') {
      throw new EsxTransportError('connect', `server URL must be https:// (got ${this.url.protocol})`);
    }
    this.agent = new Agent({
      keepAlive: true,
      maxSockets: 8,
      rejectUnauthorized: !options.insecure,
      ...(options.ca ? { ca: options.ca } : {}),
    });
    this.timeoutMs = options.requestTimeoutMs ?? 120_000;
    this.onEnvelope = options.onEnvelope;
  }

  get sessionCookie(): string | undefined {
    return this.cookie;
  }

  /** Calls `method` on `self`; returns the `<returnval>` of the answer (undefined for void methods). */
  async call(
    method: string,
    self: MoRef,
    args: Record<string, XmlValue>,
    signal: AbortSignal,
  ): Promise<unknown> {
    const { parsed } = await this.callRaw(method, self, args, signal);
    return parsed;
  }

  /** As `call`, also giving the answer's text (to hand a fragment of it back verbatim). */
  async callRaw(
    method: string,
    self: MoRef,
    args: Record<string, XmlValue>,
    signal: AbortSignal,
  ): Promise<{ parsed: unknown; xml: string }> {
    const xml = envelope(method, self, args);
    this.onEnvelope?.(method, xml);
    const answer = await this.http(method, 'POST', this.url, signal, {
      body: Buffer.from(xml),
      headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: 'urn:vim25/6.5' },
    });
    const text = answer.body.toString('utf8');
    let doc: unknown;
    try {
      doc = parseXml(text);
    } catch (err) {
      throw new EsxTransportError(method, `unparsable answer: ${errorMessage(err)}`, {
        status: answer.status,
      });
    }
    const body = child(child(doc, 'Envelope'), 'Body');
    const fault = child(body, 'Fault');
    if (fault !== undefined) throw faultOf(method, fault, answer.status);
    if (answer.status >= 300 || body === undefined) {
      throw new EsxTransportError(method, `HTTP ${answer.status}: ${text.slice(0, 200)}`, {
        status: answer.status,
      });
    }
    return { parsed: child(child(body, `${method}Response`), 'returnval'), xml: text };
  }

  /** One HTTP exchange with the session cookie; `body` may be a stream (uploads). */
  http(
    operation: string,
    method: string,
    url: URL,
    signal: AbortSignal,
    options: { body?: Buffer | Readable; headers?: Record<string, string | number> } = {},
  ): Promise<HttpAnswer> {
    if (signal.aborted) return Promise.reject(abortReason(signal));
    return new Promise((resolve, reject) => {
      const headers: Record<string, string | number> = { ...options.headers };
      if (this.cookie) headers.cookie = this.cookie;
      const req = httpsRequest(
        url,
        { method, agent: this.agent, headers, signal, timeout: this.timeoutMs },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const set = res.headers['set-cookie'];
            const session = set
              ?.map((c) => c.split(';')[0])
              .find((c) => c?.startsWith('vmware_soap_session='));
            if (session) this.cookie = session;
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.timeoutMs / 1000} s`)));
      req.on('error', (err) => {
        if (signal.aborted) reject(abortReason(signal));
        else reject(new EsxTransportError(operation, `${url.host}: ${errorMessage(err)}`, { cause: err }));
      });
      const body = options.body;
      if (body === undefined) req.end();
      else if (Buffer.isBuffer(body)) req.end(body);
      else {
        body.on('error', (err) => req.destroy(err));
        body.pipe(req);
      }
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
