export { type Moto, motoCredentials, startMoto } from './moto.js';
