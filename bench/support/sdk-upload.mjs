// The baseline of bench/gce-upload.mjs as a process, as a user's script would run it:
// @google-cloud/storage's bucket.upload of a ready file. argv: file bucket destination;
// env: GCS_ENDPOINT, GCS_PROJECT, GCS_BEARER (a token from the emulator, so the SDK's own
// credential discovery, which would go to the internet, is not asked).
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const { Storage } = createRequire(`${root}packages/emulators/package.json`)('@google-cloud/storage');
const [file, bucket, destination] = process.argv.slice(2);
const storage = new Storage({
  apiEndpoint: process.env.GCS_ENDPOINT,
  projectId: process.env.GCS_PROJECT,
  retryOptions: { autoRetry: false },
});
const authorization = `Bearer ${process.env.GCS_BEARER}`;
storage.interceptors.push({ request: (o) => ({ ...o, headers: { ...o.headers, authorization } }) });
await storage.bucket(bucket).upload(file, { destination });
