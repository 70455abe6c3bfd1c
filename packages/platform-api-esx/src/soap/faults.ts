import { CredentialsError, PlatformApiError } from '@mantle/cluster';
import { child, isNode, textOf, xsiType } from './xml.js';

/**
 * vSphere faults as typed errors. `fault` is the vim25 fault type (`NotFound`, `FileNotFound`,
 * `InvalidState`, …): stable, so callers test it rather than the message.
 */
export class EsxFaultError extends PlatformApiError {
  readonly fault: string;
  constructor(operation: string, fault: string, message: string, status?: number) {
    super(
      { platform: 'esx', operation, providerCode: fault, ...(status !== undefined ? { status } : {}) },
      message,
    );
    this.fault = fault;
  }
}

/** Login refused: user or password wrong (the operator's to fix: exit 2). */
export class EsxInvalidLoginError extends CredentialsError {
  readonly fault = 'InvalidLogin';
}

/** An HTTP or transport failure that is not a SOAP fault (TLS, refused connection, 5xx without body). */
export class EsxTransportError extends PlatformApiError {
  constructor(operation: string, message: string, options?: { status?: number; cause?: unknown }) {
    super(
      { platform: 'esx', operation, ...(options?.status !== undefined ? { status: options.status } : {}) },
      message,
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
  }
}

export function isFault(err: unknown, ...faults: string[]): err is EsxFaultError {
  return err instanceof EsxFaultError && faults.includes(err.fault);
}

/**
 * A `<soapenv:Fault>`: the vim25 type is the xsi:type of the detail's one child (`<InvalidLoginFault
 * xsi:type="InvalidLogin">`), or that child's name less `Fault`; faultstring is the message.
 */
export function faultOf(operation: string, fault: unknown, status?: number): Error {
  const message = textOf(fault, 'faultstring') || 'SOAP fault';
  const detail = child(fault, 'detail');
  let type: string | undefined;
  if (isNode(detail)) {
    for (const [k, v] of Object.entries(detail)) {
      if (k.startsWith('@_') || k === '#text') continue;
      type = xsiType(v) ?? k.replace(/^.*:/, '').replace(/Fault$/, '');
      break;
    }
  }
  type ??= textOf(fault, 'faultcode')?.replace(/^.*:/, '') ?? 'Fault';
  if (type === 'InvalidLogin') {
    return new EsxInvalidLoginError(`esx: login refused: ${message}`, {
      hint: 'check --esx-user/--esx-password, $GOVC_USERNAME/$GOVC_PASSWORD or the esx.json profile',
    });
  }
  return new EsxFaultError(operation, type, message, status);
}

/** A task's `info.error` (LocalizedMethodFault): its fault's type and localized message. */
export function taskFaultOf(operation: string, error: unknown): EsxFaultError {
  const fault = child(error, 'fault');
  const type = xsiType(fault) ?? 'TaskFailed';
  const message =
    textOf(error, 'localizedMessage') || textOf(fault, 'faultMessage') || `task failed (${type})`;
  return new EsxFaultError(operation, type, message);
}
