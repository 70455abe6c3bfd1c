import { XMLParser } from 'fast-xml-parser';

/**
 * The XML half of our vim25 client: request bodies are written from plain values (in the order the
 * XSD's sequences want them, which is the order the builders list their keys), answers are parsed by
 * fast-xml-parser into plain trees read with the small accessors below. No WSDL at run time.
 */

/** A managed object reference: `<x type="VirtualMachine">vm-42</x>`. */
export class MoRef {
  constructor(
    readonly type: string,
    readonly value: string,
  ) {}
  toString(): string {
    return `${this.type}:${this.value}`;
  }
}

/** The key under which an object carries its xsi:type (see `typed`). */
export const xsiTypeKey = Symbol('xsi:type');

/** An XML fragment sent as is (an import spec handed back to the server as it gave it). */
export class RawXml {
  constructor(readonly xml: string) {}
}

export type XmlValue =
  | string
  | number
  | boolean
  | MoRef
  | RawXml
  | XmlObject
  | readonly XmlValue[]
  | undefined;
export interface XmlObject {
  readonly [key: string]: XmlValue;
  readonly [xsiTypeKey]?: string;
}

/** `typed('VirtualSerialPort', {...})`: the object carries its xsi:type. */
export function typed(type: string, fields: Record<string, XmlValue>): XmlObject {
  return Object.assign({ [xsiTypeKey]: type }, fields);
}

/** An `anyType` slot holding a string (OptionValue.value): `<value xsi:type="xsd:string">…`. */
export function xsdString(value: string): XmlObject {
  return typed('xsd:string', { '#text': value });
}

export function escapeXml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => `&${{ '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot', "'": 'apos' }[c]};`,
  );
}

/** Writes `<name>value</name>`; arrays repeat the element, undefined writes nothing. */
export function element(name: string, value: XmlValue): string {
  if (value === undefined) return '';
  if (Array.isArray(value)) return value.map((v) => element(name, v)).join('');
  if (value instanceof MoRef)
    return `<${name} type="${escapeXml(value.type)}">${escapeXml(value.value)}</${name}>`;
  if (value instanceof RawXml) return `<${name}${rawAttributes(value)}>${innerOf(value.xml)}</${name}>`;
  if (typeof value === 'object') {
    const obj = value as XmlObject;
    const type = obj[xsiTypeKey];
    const attr = type ? ` xsi:type="${escapeXml(type)}"` : '';
    const body =
      '#text' in obj
        ? escapeXml(String(obj['#text']))
        : Object.entries(obj)
            .map(([k, v]) => element(k, v))
            .join('');
    return `<${name}${attr}>${body}</${name}>`;
  }
  return `<${name}>${escapeXml(String(value))}</${name}>`;
}

/** The fragment's own attributes, namespace declarations included: its children may use them
 * (vcsim writes `xmlns:XMLSchema-instance=… XMLSchema-instance:type=…`). */
function rawAttributes(raw: RawXml): string {
  const m = /^<[^>\s/]+((?:\s[^>]*?)?)\/?>/.exec(raw.xml);
  return m?.[1] ?? '';
}

function innerOf(xml: string): string {
  const open = xml.indexOf('>');
  const close = xml.lastIndexOf('</');
  return open >= 0 && close > open ? xml.slice(open + 1, close) : '';
}

/** A SOAP 1.1 envelope whose body is `<method xmlns="urn:vim25"><_this …/>…</method>`. */
export function envelope(method: string, self: MoRef, args: Record<string, XmlValue>): string {
  const body =
    element('_this', self) +
    Object.entries(args)
      .map(([k, v]) => element(k, v))
      .join('');
  return (
    '<?xml version="1.0" encoding="UTF-8"?>' +
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"' +
    ' xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">' +
    `<soapenv:Body><${method} xmlns="urn:vim25">${body}</${method}></soapenv:Body></soapenv:Envelope>`
  );
}

// ---- reading answers ----------------------------------------------------------------------------

/** A parsed element: its children by name (one or an array), `@_attr` attributes, `#text`. */
export type XmlNode = { [key: string]: unknown };

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  // values stay strings: a datastore named 0123 or a version 6.50 must not become a number
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  processEntities: true,
  htmlEntities: false,
});

export function parseXml(xml: string): XmlNode {
  return parser.parse(xml) as XmlNode;
}

/** The child named `name` whatever its namespace prefix (`soapenv:Body`, `soap:Body`, `Body`). */
export function child(node: unknown, name: string): unknown {
  if (!isNode(node)) return undefined;
  if (name in node) return node[name];
  for (const k of Object.keys(node)) if (k.endsWith(`:${name}`)) return node[k];
  return undefined;
}

export function isNode(v: unknown): v is XmlNode {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A repeated element as an array (the parser gives one element as itself). */
export function list(v: unknown): unknown[] {
  if (v === undefined || v === null || v === '') return [];
  return Array.isArray(v) ? v : [v];
}

export function children(node: unknown, name: string): unknown[] {
  return list(child(node, name));
}

export function text(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (isNode(v)) {
    const t = v['#text'];
    return t === undefined ? '' : String(t);
  }
  return undefined;
}

export function textOf(node: unknown, name: string): string | undefined {
  return text(child(node, name));
}

export function numberOf(node: unknown, name: string): number | undefined {
  const t = textOf(node, name);
  return t === undefined || t === '' ? undefined : Number(t);
}

export function boolOf(node: unknown, name: string): boolean | undefined {
  const t = textOf(node, name);
  return t === undefined ? undefined : t === 'true' || t === '1';
}

/** The xsi:type of an element (`ArrayOfOptionValue`, `VirtualMachineToolsStatus`…). */
export function xsiType(v: unknown): string | undefined {
  if (!isNode(v)) return undefined;
  for (const k of Object.keys(v)) if (k === '@_xsi:type' || k.endsWith(':type')) return String(v[k]);
  return undefined;
}

export function moref(v: unknown): MoRef | undefined {
  if (!isNode(v)) return undefined;
  const type = v['@_type'];
  const value = v['#text'];
  return typeof type === 'string' && value !== undefined ? new MoRef(type, String(value)) : undefined;
}

export function morefOf(node: unknown, name: string): MoRef | undefined {
  return moref(child(node, name));
}

/** Raw XML of the first `<name …>…</name>` element in a document (for handing a value back). */
export function rawElement(xml: string, name: string): RawXml | undefined {
  const open = new RegExp(`<(?:[A-Za-z0-9_]+:)?${name}[\\s>]`).exec(xml);
  if (!open) return undefined;
  const closeTag = new RegExp(`</(?:[A-Za-z0-9_]+:)?${name}>`, 'g');
  closeTag.lastIndex = open.index;
  // the element holds no element of its own name (true of importSpec), so the first close ends it
  const close = closeTag.exec(xml);
  if (!close) return undefined;
  return new RawXml(xml.slice(open.index, close.index + close[0].length));
}
