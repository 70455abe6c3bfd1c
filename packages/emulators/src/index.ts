// HTTP fakes: routing, pagination, long-running operations, spec validation, faults.
export * from './http/index.js';
