export * from './client.js';
export * from './faults.js';
export { SoapTransport, type SoapTransportOptions } from './transport.js';
export { MoRef, RawXml, text, typed, type XmlObject, type XmlValue, xsdString } from './xml.js';
