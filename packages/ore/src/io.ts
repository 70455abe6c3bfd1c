import type { CommandIo, CommandProgress } from '@mantle/cluster';

function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

/** Renders a result for people: objects as `key: value` lines, arrays of objects as columns. */
export function renderText(data: unknown): string {
  if (data === undefined || data === null) return '';
  if (typeof data !== 'object') return `${String(data)}\n`;
  if (Array.isArray(data)) {
    if (data.length === 0) return '';
    if (data.every((d) => d && typeof d === 'object' && !Array.isArray(d))) {
      const rows = data as Record<string, unknown>[];
      const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
      const cell = (v: unknown) =>
        v === undefined || v === null ? '-' : typeof v === 'object' ? JSON.stringify(v) : String(v);
      const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
      const line = (cells: string[]) =>
        `${cells
          .map((c, i) => c.padEnd(widths[i]!))
          .join('  ')
          .trimEnd()}\n`;
      return (
        line(columns.map((c) => c.toUpperCase())) +
        rows.map((r) => line(columns.map((c) => cell(r[c])))).join('')
      );
    }
    return data.map((d) => `${typeof d === 'object' ? JSON.stringify(d) : String(d)}\n`).join('');
  }
  return Object.entries(data as Record<string, unknown>)
    .map(([k, v]) => `${k}: ${typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)}\n`)
    .join('');
}

interface Stream {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** A bar redrawn in place on a TTY (at most 10 times a second); plain lines every 10 % otherwise. */
export function createProgress(
  stderr: Stream,
  label: string,
  options: { total?: number; unit?: 'bytes' | 'items' } = {},
  now: () => number = Date.now,
): CommandProgress {
  const started = now();
  const fmt = (n: number) => (options.unit === 'bytes' ? formatBytes(n) : String(n));
  let done = 0;
  let status = '';
  let lastDraw = 0;
  let lastDecile = -1;
  let finished = false;
  const tty = Boolean(stderr.isTTY);
  const describe = () => {
    const seconds = Math.max(0.001, (now() - started) / 1000);
    const rate = options.unit === 'bytes' ? ` ${formatBytes(done / seconds)}/s` : '';
    const amount = options.total ? `${fmt(done)}/${fmt(options.total)}` : fmt(done);
    return `${amount}${rate}${status ? ` ${status}` : ''}`;
  };
  const draw = (force: boolean) => {
    if (finished) return;
    const t = now();
    if (tty) {
      if (!force && t - lastDraw < 100) return;
      lastDraw = t;
      const width = 24;
      const fraction = options.total ? Math.min(1, done / options.total) : 0;
      const bar = options.total
        ? `[${'#'.repeat(Math.round(fraction * width)).padEnd(width, '.')}] ${Math.floor(fraction * 100)}% `
        : '';
      const text = `${label} ${bar}${describe()}`;
      stderr.write(`\r${text.slice(0, (stderr.columns ?? 100) - 1)}\u001b[K`);
      return;
    }
    const decile = options.total ? Math.floor((done / options.total) * 10) : -1;
    if (force || (decile > lastDecile && decile < 10)) {
      lastDecile = decile;
      stderr.write(`${label}: ${options.total ? `${decile * 10}% ` : ''}${describe()}\n`);
    }
  };
  draw(true);
  return {
    advance(amount) {
      done += amount;
      draw(false);
    },
    status(text) {
      status = text;
      draw(!tty);
    },
    done(message) {
      if (finished) return;
      const seconds = ((now() - started) / 1000).toFixed(1);
      const text = `${label}: ${message ?? `done, ${describe()}`} in ${seconds}s`;
      stderr.write(tty ? `\r${text}\u001b[K\n` : `${text}\n`);
      finished = true;
    },
  };
}

export function createIo(stdout: Stream & NodeJS.WritableStream, stderr: Stream, json: boolean): CommandIo {
  return {
    stdout,
    json,
    result(data, text) {
      stdout.write(json ? `${JSON.stringify(data, null, 2)}\n` : (text ?? renderText(data)));
    },
    progress: (label, options) => createProgress(stderr, label, options),
  };
}
