import { CredentialsError, PlatformApiError } from '@mantle/cluster';

interface SdkErrorLike {
  name?: string;
  message?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number; requestId?: string };
}

/** The provider's error code (`InvalidInstanceID.NotFound`, `NoSuchKey`, …), or undefined. */
export function awsErrorCode(e: unknown): string | undefined {
  if (typeof e !== 'object' || e === null) return undefined;
  const err = e as SdkErrorLike;
  return err.Code ?? (err.name && err.name !== 'Error' ? err.name : undefined);
}

const credentialCodes = new Set([
  'CredentialsProviderError',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'SignatureDoesNotMatch',
  'AuthFailure',
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidAccessKeyId',
]);

/**
 * Turns an SDK error into one line for the operator: credential problems are CredentialsError
 * (exit 2), the rest PlatformApiError with the code, status and request id.
 */
export function awsApiError(e: unknown, operation: string): Error {
  if (e instanceof PlatformApiError || e instanceof CredentialsError) return e;
  const code = awsErrorCode(e);
  const err = (typeof e === 'object' && e !== null ? e : {}) as SdkErrorLike;
  const message = (err.message ?? String(e)).split('\n')[0] ?? '';
  if (code && credentialCodes.has(code))
    return new CredentialsError(`aws ${operation}: ${message}`, {
      cause: e,
      hint: 'set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or --aws-profile/--aws-credentials-file',
    });
  return new PlatformApiError(
    {
      platform: 'aws',
      operation,
      ...(err.$metadata?.httpStatusCode !== undefined ? { status: err.$metadata.httpStatusCode } : {}),
      ...(err.$metadata?.requestId ? { requestId: err.$metadata.requestId } : {}),
      ...(code ? { providerCode: code } : {}),
    },
    message,
    { cause: e },
  );
}

/** Calls the SDK and rethrows its error as awsApiError(operation). */
export async function awsCall<T>(operation: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (e) {
    throw awsApiError(e, operation);
  }
}

/** "Already gone" answers, which removal treats as success. */
export function isNotFound(e: unknown): boolean {
  const code = e instanceof PlatformApiError ? e.details.providerCode : awsErrorCode(e);
  return code !== undefined && /NotFound|NoSuchKey|NoSuchUpload|NoSuchBucket|NoSuchEntity/.test(code);
}
