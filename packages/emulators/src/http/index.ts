// The HTTP fakes framework: every fake cloud API of the kit is built on it.
export * from '../faults/faults.js';
export * from '../faults/prng.js';
export * from '../specs/catalog.js';
export * from '../specs/discovery.js';
export * from '../specs/locate.js';
export * from '../specs/openapi.js';
export * from '../specs/swagger.js';
export * from '../specs/validator.js';
export * from './errors.js';
export * from './fake-api.js';
export * from './operations.js';
export * from './pagination.js';
export * from './providers.js';
export * from './request-log.js';
export * from './routes.js';
export * from './violations.js';
