import sharp from 'sharp';

/** One line of a panel. */
export interface Series {
  name: string;
  color: string;
  points: ReadonlyArray<{ x: number; y: number }>;
  /** Draw dashed (e.g. a target). */
  dashed?: boolean;
}

/** One chart panel: lines over a shared x axis (seconds). */
export interface Panel {
  title: string;
  yLabel: string;
  series: Series[];
}

/** Options of {@link chartSvg}. */
export interface ChartOptions {
  title: string;
  /** Vertical markers (e.g. step boundaries) with labels, x in the panels' unit. */
  markers?: ReadonlyArray<{ x: number; label: string }>;
  xLabel?: string;
  width?: number;
  panelHeight?: number;
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A "nice" upper bound and tick step for an axis from 0 to `max`. */
export function niceScale(max: number, ticks = 5): { top: number; step: number } {
  if (!(max > 0)) return { top: 1, step: 0.2 };
  const raw = max / ticks;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  return { top: Math.ceil(max / step) * step, step };
}

const fmt = (v: number): string => (Math.abs(v) >= 100 || Number.isInteger(v) ? String(Math.round(v)) : v.toFixed(1));

/** Renders the panels one under another as an SVG document (no external resources). */
export function chartSvg(panels: readonly Panel[], options: ChartOptions): string {
  const width = options.width ?? 1100;
  const panelHeight = options.panelHeight ?? 260;
  const left = 70;
  const right = 200;
  const top = 80;
  const gap = 60;
  const height = top + panels.length * (panelHeight + gap) + 20;
  const all = panels.flatMap((p) => p.series.flatMap((s) => s.points.map((q) => q.x)));
  const xMax = Math.max(1, ...all, ...(options.markers ?? []).map((m) => m.x));
  const { top: xTop, step: xStep } = niceScale(xMax, 10);
  const plotW = width - left - right;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Liberation Sans, Arial, sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="28" font-size="18" text-anchor="middle" font-weight="bold">${esc(options.title)}</text>`,
  ];
  panels.forEach((panel, i) => {
    const y0 = top + i * (panelHeight + gap);
    const yMaxData = Math.max(0, ...panel.series.flatMap((s) => s.points.map((p) => p.y)));
    const { top: yTop, step: yStep } = niceScale(yMaxData);
    const sx = (x: number) => left + (x / xTop) * plotW;
    const sy = (y: number) => y0 + panelHeight - (y / yTop) * panelHeight;
    out.push(`<text x="${left}" y="${y0 - 10}" font-size="14" font-weight="bold">${esc(panel.title)}</text>`);
    for (let v = 0; v <= yTop + 1e-9; v += yStep) {
      out.push(`<line x1="${left}" y1="${sy(v)}" x2="${left + plotW}" y2="${sy(v)}" stroke="#e5e5e5"/>`);
      out.push(`<text x="${left - 6}" y="${sy(v) + 4}" font-size="11" text-anchor="end">${fmt(v)}</text>`);
    }
    for (let v = 0; v <= xTop + 1e-9; v += xStep) {
      out.push(`<text x="${sx(v)}" y="${y0 + panelHeight + 16}" font-size="11" text-anchor="middle">${fmt(v)}</text>`);
    }
    (options.markers ?? []).forEach((m, k) => {
      out.push(`<line x1="${sx(m.x)}" y1="${y0}" x2="${sx(m.x)}" y2="${y0 + panelHeight}" stroke="#999" stroke-dasharray="3,3"/>`);
      if (i === 0) out.push(`<text x="${sx(m.x) + 3}" y="${y0 + 12 + (k % 2) * 12}" font-size="10" fill="#555">${esc(m.label)}</text>`);
    });
    out.push(`<rect x="${left}" y="${y0}" width="${plotW}" height="${panelHeight}" fill="none" stroke="#333"/>`);
    out.push(`<text x="${18}" y="${y0 + panelHeight / 2}" font-size="12" text-anchor="middle" transform="rotate(-90 18 ${y0 + panelHeight / 2})">${esc(panel.yLabel)}</text>`);
    panel.series.forEach((s, j) => {
      if (s.points.length > 0) {
        const d = s.points.map((p, k) => `${k === 0 ? 'M' : 'L'}${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(' ');
        out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6,4"' : ''}/>`);
      }
      const ly = y0 + 14 + j * 18;
      out.push(`<line x1="${left + plotW + 12}" y1="${ly - 4}" x2="${left + plotW + 36}" y2="${ly - 4}" stroke="${s.color}" stroke-width="3"${s.dashed ? ' stroke-dasharray="6,4"' : ''}/>`);
      out.push(`<text x="${left + plotW + 42}" y="${ly}" font-size="12">${esc(s.name)}</text>`);
    });
  });
  out.push(`<text x="${left + plotW / 2}" y="${height - 6}" font-size="12" text-anchor="middle">${esc(options.xLabel ?? 'seconds since the ramp started')}</text>`);
  out.push('</svg>');
  return out.join('\n');
}

/** Rasterises an SVG document to PNG bytes (librsvg through sharp). */
export function svgToPng(svg: string): Promise<Buffer> {
  return sharp(Buffer.from(svg)).png().toBuffer();
}
