/** Kept in step with package.json by the release script; read without touching the file system. */
export const kolaVersion = '0.1.0';
