// A small time-series line chart drawn on <canvas> (no library): a fixed window of samples,
// auto-scaled y axis with three grid lines, one line per series, an HTML legend with the
// latest values. The latest values are also kept in canvas.dataset.last (JSON) for tests.
import { el } from './util.js';

const COLORS = ['#e8743b', '#3b82c4', '#4caf50', '#9c27b0', '#e0b000', '#00a5a5'];

export class LineChart {
  constructor(canvas, legend, { window = 120, digits = 1 } = {}) {
    this.canvas = canvas;
    this.legend = legend;
    this.window = window;
    this.digits = digits;
    this.series = new Map(); // name -> { color, points: [[t, v]] }
    new ResizeObserver(() => this.draw()).observe(canvas);
  }

  /** Add one sample per series (null: no value, a gap in the line). */
  push(t, values) {
    for (const [name, v] of Object.entries(values)) {
      if (!this.series.has(name)) this.series.set(name, { color: COLORS[this.series.size % COLORS.length], points: [] });
      this.series.get(name).points.push([t, v]);
    }
    for (const s of this.series.values()) {
      while (s.points.length && s.points[0][0] < t - this.window * 1000) s.points.shift();
    }
    this.canvas.dataset.last = JSON.stringify(values);
    this.renderLegend(values);
    this.draw();
  }

  renderLegend(values) {
    this.legend.replaceChildren(...[...this.series].map(([name, s]) => {
      const v = values[name];
      const sw = el('span', { class: 'sw' });
      sw.style.background = s.color; // CSSOM, not a style attribute: the CSP allows no inline styles
      return el('span', { dataset: { series: name } }, sw,
        `${name} `, el('b', { class: 'value', text: v === null || v === undefined ? '–' : v.toFixed(this.digits) }));
    }));
  }

  draw() {
    const c = this.canvas;
    const dpr = window.devicePixelRatio || 1;
    const w = c.clientWidth;
    const h = c.clientHeight;
    if (!w || !h) return;
    c.width = Math.round(w * dpr);
    c.height = Math.round(h * dpr);
    const g = c.getContext('2d');
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, h);
    const style = getComputedStyle(document.body);
    const muted = style.getPropertyValue('--muted') || '#888';
    const border = style.getPropertyValue('--border') || '#ddd';
    let max = 0;
    let tMax = 0;
    for (const s of this.series.values()) for (const [t, v] of s.points) { if (v !== null && v > max) max = v; if (t > tMax) tMax = t; }
    max = niceMax(max);
    const left = 44;
    const bottom = h - 16;
    const top = 6;
    const tMin = tMax - this.window * 1000;
    const x = (t) => left + ((t - tMin) / (this.window * 1000)) * (w - left - 4);
    const y = (v) => bottom - (v / max) * (bottom - top);
    g.font = '11px system-ui, sans-serif';
    g.fillStyle = muted;
    g.strokeStyle = border;
    g.lineWidth = 1;
    for (let i = 0; i <= 3; i++) {
      const v = (max * i) / 3;
      g.beginPath();
      g.moveTo(left, Math.round(y(v)) + 0.5);
      g.lineTo(w - 4, Math.round(y(v)) + 0.5);
      g.stroke();
      g.fillText(fmt(v), 2, y(v) + 4);
    }
    g.fillText(`${this.window} s`, left, h - 3);
    g.fillText('now', w - 26, h - 3);
    g.lineWidth = 2;
    for (const s of this.series.values()) {
      g.strokeStyle = s.color;
      g.beginPath();
      let pen = false;
      for (const [t, v] of s.points) {
        if (v === null || v === undefined) { pen = false; continue; }
        if (pen) g.lineTo(x(t), y(v)); else g.moveTo(x(t), y(v));
        pen = true;
      }
      g.stroke();
    }
  }
}

function niceMax(v) {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.5, 2, 3, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

function fmt(v) {
  if (v >= 1000) return `${(v / 1000).toFixed(v >= 10000 ? 0 : 1)}k`;
  return v >= 10 || v === 0 ? v.toFixed(0) : v.toFixed(1);
}
