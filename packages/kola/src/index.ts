export type { KolaDependencies } from './environment.js';
export { runKola } from './main.js';
