import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunInfo, RunSummary, TestResult } from '../result.js';
import { escapeXmlAttr, JunitReporter, junitClassname, sanitizeXmlText } from './junit.js';

interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}

/**
 * A strict little XML 1.0 reader, enough to prove the report is well-formed: one root, balanced and
 * properly nested tags, quoted attributes without duplicates or raw '<', only the five predefined
 * entities or character references, and no characters outside XML 1.0's Char production.
 */
function parseXml(xml: string): XmlElement {
  const invalid = /[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/u.exec(xml);
  if (invalid) throw new Error(`invalid XML character U+${invalid[0].codePointAt(0)!.toString(16)}`);
  const decode = (s: string): string => {
    if (/&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/.test(s)) throw new Error(`bad entity in ${s}`);
    return s.replace(/&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/g, (_m, e: string) => {
      const named: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
      if (named[e]) return named[e];
      return String.fromCodePoint(e.startsWith('#x') ? Number.parseInt(e.slice(2), 16) : Number(e.slice(1)));
    });
  };
  let rest = xml.replace(/^<\?xml [^?]*\?>\s*/, '');
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  while (rest.length > 0) {
    if (rest.startsWith('<')) {
      const m = /^<(\/?)([A-Za-z_][\w.-]*)((?:\s+[A-Za-z_][\w.-]*="[^"<]*")*)\s*(\/?)>/.exec(rest);
      if (!m) throw new Error(`malformed tag near ${JSON.stringify(rest.slice(0, 60))}`);
      const [, closing, name, attrText, selfClosing] = m;
      rest = rest.slice(m[0].length);
      if (closing) {
        const open = stack.pop();
        if (!open || open.name !== name) throw new Error(`</${name}> closes <${open?.name}>`);
        continue;
      }
      const attrs: Record<string, string> = {};
      for (const a of attrText!.matchAll(/([A-Za-z_][\w.-]*)="([^"]*)"/g)) {
        if (a[1]! in attrs) throw new Error(`duplicate attribute ${a[1]}`);
        attrs[a[1]!] = decode(a[2]!);
      }
      const el: XmlElement = { name: name!, attrs, children: [], text: '' };
      if (stack.length === 0) {
        if (root) throw new Error('more than one root element');
        root = el;
      } else stack.at(-1)!.children.push(el);
      if (!selfClosing) stack.push(el);
    } else {
      const end = rest.indexOf('<');
      const text = end < 0 ? rest : rest.slice(0, end);
      rest = end < 0 ? '' : rest.slice(end);
      if (stack.length === 0) {
        if (text.trim()) throw new Error('text outside the root element');
        continue;
      }
      if (text.includes('>') && text.includes(']]>')) throw new Error(']]> in text');
      stack.at(-1)!.text += decode(text);
    }
  }
  if (stack.length) throw new Error(`unclosed <${stack.at(-1)!.name}>`);
  if (!root) throw new Error('no root element');
  return root;
}

const find = (el: XmlElement, name: string) => el.children.filter((c) => c.name === name);

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'junit-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('parseXml (the checker itself)', () => {
  it('rejects malformed documents', () => {
    expect(() => parseXml('<a><b></a></b>')).toThrow();
    expect(() => parseXml('<a>x & y</a>')).toThrow();
    expect(() => parseXml('<a>\x1b[0m</a>')).toThrow();
    expect(() => parseXml('<a x="1" x="2"/>')).toThrow();
    expect(() => parseXml('<a><b></a>')).toThrow();
    expect(parseXml('<a x="&lt;&#10;"><b/>t&amp;</a>')).toMatchObject({ attrs: { x: '<\n' }, text: 't&' });
  });
});

describe('JunitReporter', () => {
  const info: RunInfo = {
    platform: 'qemu',
    version: '2512.0.0',
    outputDir: '/runs/qemu-1',
    total: 3,
    startedAt: new Date('2020-05-18T12:34:56.789Z'),
  };

  it('writes a well-formed report after every test, with failures, skips, logs and attachments', async () => {
    const path = join(dir, 'reports', 'junit.xml');
    const rep = new JunitReporter(path);
    await rep.runStarted(info);
    const empty = parseXml(readFileSync(path, 'utf8'));
    expect(empty.name).toBe('testsuites');
    expect(find(find(empty, 'testsuite')[0]!, 'testcase')).toHaveLength(0);

    const console =
      '\x1b[0;31m[FAILED]\x1b[0m Failed to start foo\x00\x07 <tag> & "q"\r\nKernel panic\ud800!';
    const results: TestResult[] = [
      { name: 'basic.ssh/sub', parent: 'basic.ssh', status: 'PASS', durationMs: 500, output: 'ok' },
      {
        name: 'basic.ssh',
        status: 'FAIL',
        durationMs: 61_234,
        output: console,
        failure: { kind: 'console', message: 'found "kernel panic" <on> m1\nsecond line' },
        machines: [
          {
            id: 'm1',
            dir: 'basic.ssh/m1',
            console: 'basic.ssh/m1/console.txt',
            journal: 'basic.ssh/m1/journal.txt',
          },
        ],
      },
      {
        name: 'aws.only',
        status: 'SKIP',
        durationMs: 0,
        output: '',
        skipReason: 'not supported on qemu; only: aws',
      },
      { name: 'misc', status: 'PASS', durationMs: 1, output: '' },
    ];
    for (const r of results) {
      await rep.testFinished(r);
      parseXml(readFileSync(path, 'utf8')); // well-formed at every step
    }
    const summary: RunSummary = { ...info, results, status: 'FAIL', durationMs: 62_000 };
    await rep.runFinished(summary);

    const doc = parseXml(readFileSync(path, 'utf8'));
    const suite = find(doc, 'testsuite')[0]!;
    expect(suite.attrs).toMatchObject({
      name: 'kola',
      tests: '4',
      failures: '1',
      skipped: '1',
      time: '62.000',
      timestamp: '2020-05-18T12:34:56',
    });
    expect(doc.attrs).toMatchObject({ tests: '4', failures: '1', skipped: '1' });
    const props = Object.fromEntries(
      find(find(suite, 'properties')[0]!, 'property').map((p) => [p.attrs.name, p.attrs.value]),
    );
    expect(props).toMatchObject({
      platform: 'qemu',
      version: '2512.0.0',
      outputDir: '/runs/qemu-1',
      result: 'FAIL',
    });

    const cases = find(suite, 'testcase');
    expect(cases.map((c) => [c.attrs.name, c.attrs.classname, c.attrs.time])).toEqual([
      ['basic.ssh/sub', 'basic', '0.500'],
      ['basic.ssh', 'basic', '61.234'],
      ['aws.only', 'aws', '0.000'],
      ['misc', 'misc', '0.001'],
    ]);
    const failed = cases[1]!;
    const failure = find(failed, 'failure')[0]!;
    expect(failure.attrs).toEqual({ message: 'found "kernel panic" <on> m1\nsecond line', type: 'console' });
    expect(failure.text).toBe('found "kernel panic" <on> m1\nsecond line');
    const out = find(failed, 'system-out')[0]!.text;
    expect(out).toContain('[FAILED] Failed to start foo <tag> & "q"');
    expect(out).not.toContain('\x1b');
    expect(out.split('\n')).toEqual(
      expect.arrayContaining([
        'console: basic.ssh/m1/console.txt',
        '[[ATTACHMENT|/runs/qemu-1/basic.ssh/m1/console.txt]]',
        'journal: basic.ssh/m1/journal.txt',
        '[[ATTACHMENT|/runs/qemu-1/basic.ssh/m1/journal.txt]]',
      ]),
    );
    expect(find(cases[2]!, 'skipped')[0]!.attrs.message).toBe('not supported on qemu; only: aws');
    expect(find(cases[3]!, 'system-out')).toHaveLength(0);
  });

  it('junitClassname is the group before the first dot', () => {
    expect(junitClassname('coreos.ignition.once')).toBe('coreos');
    expect(junitClassname('coreos.ignition.once/sub.x')).toBe('coreos');
    expect(junitClassname('standalone')).toBe('standalone');
  });

  it('escaping helpers', () => {
    expect(escapeXmlAttr('a"b\'c<d>&\n\t')).toBe('a&quot;b&apos;c&lt;d&gt;&amp;&#10;&#9;');
    expect(sanitizeXmlText('ok\x00\x08\x0b\x0c\ufffe\ud83d\ude00')).toBe('ok\ud83d\ude00');
  });
});
