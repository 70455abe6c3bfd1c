/**
 * `<out>/reports/junit.xml`, written natively (coreos-assembler needs a post-hoc `kola-junit` script
 * for this). One `<testcase>` per test and per subtest (`parent/child`), in completion order, with
 * `classname` = the test group (the name before its first dot). A case's `<system-out>` holds the
 * test's log followed by each machine's console/journal paths, both as plain `console: <path>` lines
 * and as `[[ATTACHMENT|/absolute/path]]` lines that Jenkins' junit-attachments plugin picks up.
 * Text is escaped for XML, and characters XML 1.0 cannot carry (console control bytes) are dropped.
 * The file is rewritten atomically after every test.
 */
import { resolve } from 'node:path';
import { redact } from '@mantle/cluster';
import { AtomicFileWriter } from '../output-dir.js';
import type { Reporter, RunInfo, RunSummary, TestResult } from '../result.js';

// ANSI escape sequences, removed before the (now printable) remainder is escaped.
const ANSI = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]/g;
// Everything outside XML 1.0's Char production, lone surrogates included.
const INVALID_XML = /[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/gu;

/** Text made safe for XML 1.0: escape sequences and invalid characters removed. */
export function sanitizeXmlText(text: string): string {
  return text.replace(ANSI, '').replace(INVALID_XML, '');
}

export function escapeXmlText(text: string): string {
  return sanitizeXmlText(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Attribute values keep their line breaks and tabs as character references. */
export function escapeXmlAttr(text: string): string {
  return escapeXmlText(text)
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
    .replace(/\t/g, '&#9;')
    .replace(/\n/g, '&#10;')
    .replace(/\r/g, '&#13;');
}

/** The group a test belongs to: `basic` for `basic.ssh` and `basic.ssh/sub`. */
export function junitClassname(name: string): string {
  const top = name.split('/')[0] ?? name;
  const dot = top.indexOf('.');
  return dot > 0 ? top.slice(0, dot) : top;
}

function seconds(ms: number): string {
  return (Math.max(0, ms) / 1000).toFixed(3);
}

export class JunitReporter implements Reporter {
  private info: RunInfo | undefined;
  private readonly results: TestResult[] = [];
  private summary: RunSummary | undefined;
  private readonly writer: AtomicFileWriter;

  constructor(readonly path: string) {
    this.writer = new AtomicFileWriter(path);
  }

  runStarted(info: RunInfo): Promise<void> {
    this.info = info;
    return this.flush();
  }

  testStarted(_name: string): void {}

  testFinished(result: TestResult): Promise<void> {
    this.results.push(result);
    return this.flush();
  }

  runFinished(summary: RunSummary): Promise<void> {
    this.info = summary;
    this.summary = summary;
    return this.flush();
  }

  private flush(): Promise<void> {
    return this.writer.write(() => this.render());
  }

  render(): string {
    const info = this.info;
    const outputDir = info?.outputDir ?? '.';
    const failures = this.results.filter((r) => r.status === 'FAIL').length;
    const skipped = this.results.filter((r) => r.status === 'SKIP').length;
    const tests = this.results.length;
    const elapsed = this.summary
      ? this.summary.durationMs
      : info
        ? Math.max(0, Date.now() - info.startedAt.getTime())
        : 0;
    const timestamp = (info?.startedAt ?? new Date()).toISOString().slice(0, 19);
    const counts = `tests="${tests}" failures="${failures}" errors="0" skipped="${skipped}" time="${seconds(elapsed)}"`;

    const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
    out.push(`<testsuites name="kola" ${counts}>`);
    out.push(`  <testsuite name="kola" ${counts} timestamp="${timestamp}">`);
    out.push('    <properties>');
    const props: Array<[string, string]> = [
      ['platform', info?.platform ?? ''],
      ['version', info?.version ?? ''],
      ['outputDir', outputDir],
      ['total', String(info?.total ?? 0)],
    ];
    if (this.summary) {
      props.push(['result', this.summary.interrupted ? 'FAIL' : this.summary.status]);
      if (this.summary.interrupted) props.push(['interrupted', 'true']);
    }
    for (const [name, value] of props) {
      out.push(`      <property name="${escapeXmlAttr(name)}" value="${escapeXmlAttr(value)}"/>`);
    }
    out.push('    </properties>');
    for (const r of this.results) out.push(...renderCase(r, outputDir));
    out.push('  </testsuite>');
    out.push('</testsuites>');
    return `${out.join('\n')}\n`;
  }
}

function renderCase(r: TestResult, outputDir: string): string[] {
  const lines: string[] = [];
  lines.push(
    `    <testcase name="${escapeXmlAttr(r.name)}" classname="${escapeXmlAttr(junitClassname(r.name))}" time="${seconds(r.durationMs)}">`,
  );
  if (r.status === 'FAIL') {
    const message = redact(r.failure?.message ?? 'test failed');
    const type = r.failure?.kind ?? 'fail';
    const code = r.failure?.code ? `[${r.failure.code}] ` : '';
    lines.push(
      `      <failure message="${escapeXmlAttr(message)}" type="${escapeXmlAttr(type)}">${escapeXmlText(code + message)}</failure>`,
    );
  } else if (r.status === 'SKIP') {
    lines.push(`      <skipped message="${escapeXmlAttr(redact(r.skipReason ?? ''))}"/>`);
  }
  const systemOut = buildSystemOut(r, outputDir);
  if (systemOut) lines.push(`      <system-out>${escapeXmlText(systemOut)}</system-out>`);
  lines.push('    </testcase>');
  return lines;
}

function buildSystemOut(r: TestResult, outputDir: string): string {
  const parts: string[] = [];
  const log = redact(r.output).replace(/\s+$/, '');
  if (log) parts.push(log);
  const artifacts: string[] = [];
  for (const m of r.machines ?? []) {
    artifacts.push(`machine ${m.id}: ${m.dir}`);
    for (const [label, path] of [
      ['console', m.console],
      ['journal', m.journal],
    ] as const) {
      if (!path) continue;
      artifacts.push(`${label}: ${path}`);
      artifacts.push(`[[ATTACHMENT|${resolve(outputDir, path)}]]`);
    }
  }
  if (artifacts.length > 0) parts.push(artifacts.join('\n'));
  return parts.join('\n\n');
}
