"use strict";
// vaekit's drawing code, shared by the report and the explorer: axes with
// ticks, line and bar charts with a read-out under the pointer, and a
// scatter view of many points with zoom, pan and a nearest-point lookup.
// Plain canvas 2-D; text always goes in through textContent.

const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
  "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#ad494a", "#637939",
  "#8c6d31", "#7b4173", "#3182bd", "#e6550d", "#31a354", "#756bb1", "#636363"];

function classColor(label) {
  return label == null ? "#4a5560" : PALETTE[label % PALETTE.length];
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v;
    else if (k === "style") node.style.cssText = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) {
    if (c == null) continue;
    node.appendChild(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
  }
  return node;
}

// A number in few characters: whole numbers whole, others to 3 or 4
// significant digits without trailing zeros.
function fmt(v) {
  if (v == null || !isFinite(v)) return "–";
  const a = Math.abs(v);
  if (Number.isInteger(v) && a < 1e9) return String(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(2);
  let s = a >= 100 ? v.toFixed(1) : a >= 1 ? v.toFixed(3) : v.toPrecision(3);
  if (s.includes(".")) s = s.replace(/0+$/, "").replace(/\.$/, "");
  return s;
}

// Round tick positions covering [lo, hi] (whole numbers only with `whole`).
function niceTicks(lo, hi, count, whole) {
  if (!(hi > lo)) { hi = lo + 1; lo = lo - 1; }
  const raw = (hi - lo) / Math.max(1, count);
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const steps = whole ? [1, 2, 5, 10] : [1, 2, 2.5, 5, 10];
  let step = steps.map(m => m * mag).find(s => s >= raw) || raw;
  if (whole) step = Math.max(1, Math.round(step));
  const ticks = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(+t.toPrecision(12));
  return ticks;
}

function makeCanvas(width, height) {
  const canvas = el("canvas");
  const ratio = window.devicePixelRatio || 1;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  canvas.style.width = width + "px";
  canvas.style.height = height + "px";
  const ctx = canvas.getContext("2d");
  ctx.scale(ratio, ratio);
  return { canvas, ctx, width, height };
}

// One tooltip element for the page.
function tooltip() {
  let tip = document.querySelector(".tip");
  if (!tip) { tip = el("div", { class: "tip" }); document.body.appendChild(tip); }
  return {
    show(event, ...lines) {
      tip.replaceChildren(...lines.map(l => typeof l === "string" ? el("div", {}, l) : l));
      tip.style.display = "block";
      const x = Math.min(event.clientX + 14, window.innerWidth - tip.offsetWidth - 8);
      const y = Math.min(event.clientY + 14, window.innerHeight - tip.offsetHeight - 8);
      tip.style.left = x + "px";
      tip.style.top = y + "px";
    },
    hide() { tip.style.display = "none"; },
  };
}

// Axes in a plotting area; `view` is {x0, x1, y0, y1} in data units.
class Axes {
  constructor(ctx, width, height, margin) {
    this.ctx = ctx; this.width = width; this.height = height;
    this.m = margin || { left: 58, right: 12, top: 24, bottom: 40 };
  }
  setView(view) { this.view = view; }
  get inner() {
    return { x: this.m.left, y: this.m.top, w: this.width - this.m.left - this.m.right, h: this.height - this.m.top - this.m.bottom };
  }
  px(x) { const v = this.view, r = this.inner; return r.x + (x - v.x0) / (v.x1 - v.x0) * r.w; }
  py(y) { const v = this.view, r = this.inner; return r.y + r.h - (y - v.y0) / (v.y1 - v.y0) * r.h; }
  dataX(px) { const v = this.view, r = this.inner; return v.x0 + (px - r.x) / r.w * (v.x1 - v.x0); }
  dataY(py) { const v = this.view, r = this.inner; return v.y0 + (r.y + r.h - py) / r.h * (v.y1 - v.y0); }
  draw(title, xLabel, yLabel, xTicks) {
    const ctx = this.ctx, r = this.inner, v = this.view;
    ctx.clearRect(0, 0, this.width, this.height);
    ctx.font = "11px system-ui, sans-serif";
    ctx.strokeStyle = "#d0d7de"; ctx.fillStyle = "#59636e"; ctx.lineWidth = 1;
    ctx.textAlign = "right"; ctx.textBaseline = "middle";
    for (const t of niceTicks(v.y0, v.y1, 5)) {
      const y = Math.round(this.py(t)) + 0.5;
      if (y < r.y - 1 || y > r.y + r.h + 1) continue;
      ctx.beginPath(); ctx.moveTo(r.x, y); ctx.lineTo(r.x + r.w, y); ctx.stroke();
      ctx.fillText(fmt(t), r.x - 5, y);
    }
    ctx.textAlign = "center"; ctx.textBaseline = "top";
    for (const t of xTicks || niceTicks(v.x0, v.x1, 6)) {
      const x = Math.round(this.px(t)) + 0.5;
      if (x < r.x - 1 || x > r.x + r.w + 1) continue;
      ctx.beginPath(); ctx.moveTo(x, r.y + r.h); ctx.lineTo(x, r.y + r.h + 4); ctx.stroke();
      ctx.fillText(fmt(t), x, r.y + r.h + 6);
    }
    ctx.strokeStyle = "#59636e";
    ctx.strokeRect(r.x + 0.5, r.y + 0.5, r.w, r.h);
    ctx.fillStyle = "#1f2328";
    ctx.font = "600 12px system-ui, sans-serif";
    ctx.textAlign = "left"; ctx.textBaseline = "top";
    if (title) ctx.fillText(title, r.x, 4);
    ctx.font = "11px system-ui, sans-serif"; ctx.fillStyle = "#59636e";
    ctx.textAlign = "center";
    if (xLabel) ctx.fillText(xLabel, r.x + r.w / 2, this.height - 14);
    if (yLabel) {
      ctx.save(); ctx.translate(12, r.y + r.h / 2); ctx.rotate(-Math.PI / 2);
      ctx.textBaseline = "middle"; ctx.fillText(yLabel, 0, 0); ctx.restore();
    }
  }
}

function extent(values) {
  let lo = Infinity, hi = -Infinity;
  for (const v of values) if (v != null && isFinite(v)) { if (v < lo) lo = v; if (v > hi) hi = v; }
  if (lo === Infinity) return [0, 1];
  if (lo === hi) { const pad = Math.abs(lo) * 0.1 || 0.5; return [lo - pad, hi + pad]; }
  const pad = (hi - lo) * 0.05;
  return [lo - pad, hi + pad];
}

function legend(items) {
  return el("div", { class: "legend" }, ...items.map(([name, color]) =>
    el("span", {}, el("span", { class: "swatch", style: "background:" + color }), name)));
}

// Curves over a shared x; a read-out of every curve at the epoch under the pointer.
function lineChart(parent, spec) {
  const { canvas, ctx, width, height } = makeCanvas(spec.width || 460, spec.height || 260);
  const axes = new Axes(ctx, width, height);
  const series = spec.series.filter(s => s.values.some(v => v != null));
  const ys = series.flatMap(s => s.values);
  const [y0, y1] = extent(ys);
  const [x0, x1] = extent(spec.x);
  axes.setView({ x0: spec.x.length > 1 ? spec.x[0] : x0, x1: spec.x.length > 1 ? spec.x[spec.x.length - 1] : x1, y0, y1 });
  const v = axes.view;
  const xTicks = niceTicks(v.x0, v.x1, 6, spec.wholeX);
  const draw = (at) => {
    axes.draw(spec.title, spec.xLabel, spec.yLabel, xTicks);
    const r = axes.inner;
    ctx.save(); ctx.beginPath(); ctx.rect(r.x, r.y, r.w, r.h); ctx.clip();
    series.forEach((s, k) => {
      ctx.strokeStyle = s.color || PALETTE[k]; ctx.lineWidth = 1.6; ctx.beginPath();
      let started = false;
      s.values.forEach((v, i) => {
        if (v == null || !isFinite(v)) { started = false; return; }
        const X = axes.px(spec.x[i]), Y = axes.py(v);
        if (started) ctx.lineTo(X, Y); else { ctx.moveTo(X, Y); started = true; }
      });
      ctx.stroke();
      if (spec.x.length === 1) {
        ctx.fillStyle = s.color || PALETTE[k];
        ctx.beginPath(); ctx.arc(axes.px(spec.x[0]), axes.py(s.values[0]), 3, 0, 7); ctx.fill();
      }
    });
    if (at != null) {
      const X = Math.round(axes.px(spec.x[at])) + 0.5;
      ctx.strokeStyle = "rgba(0,0,0,0.35)"; ctx.beginPath(); ctx.moveTo(X, r.y); ctx.lineTo(X, r.y + r.h); ctx.stroke();
    }
    ctx.restore();
  };
  draw(null);
  const tip = tooltip();
  canvas.addEventListener("mousemove", (e) => {
    const box = canvas.getBoundingClientRect();
    const x = axes.dataX(e.clientX - box.left);
    let best = 0;
    spec.x.forEach((v, i) => { if (Math.abs(v - x) < Math.abs(spec.x[best] - x)) best = i; });
    draw(best);
    tip.show(e, `${spec.xLabel || "x"} ${spec.x[best]}`,
      ...series.map((s, k) => el("div", {}, el("span", { class: "swatch", style: "display:inline-block;width:9px;height:9px;margin-right:4px;background:" + (s.color || PALETTE[k]) }), `${s.name}: ${fmt(s.values[best])}`)));
  });
  canvas.addEventListener("mouseleave", () => { draw(null); tip.hide(); });
  const card = el("div", { class: "card chart", "data-chart": spec.title || "" }, canvas,
    legend(series.map((s, k) => [s.name, s.color || PALETTE[k]])));
  if (spec.note) card.appendChild(el("p", {}, spec.note));
  parent.appendChild(card);
  return card;
}

// Bars, side by side per category for several series; a read-out per bar group.
function barChart(parent, spec) {
  const { canvas, ctx, width, height } = makeCanvas(spec.width || 460, spec.height || 240);
  const axes = new Axes(ctx, width, height, { left: 58, right: 12, top: 24, bottom: spec.rotate ? 70 : 40 });
  const n = spec.labels.length;
  const all = spec.series.flatMap(s => s.values);
  const top = Math.max(1e-12, ...all.filter(v => isFinite(v)));
  axes.setView({ x0: 0, x1: n, y0: 0, y1: top * 1.08 });
  const draw = (at) => {
    axes.draw(spec.title, spec.rotate ? null : spec.xLabel, spec.yLabel, []);
    const r = axes.inner, k = spec.series.length, w = r.w / n;
    spec.series.forEach((s, j) => {
      ctx.fillStyle = s.color || PALETTE[j];
      s.values.forEach((v, i) => {
        const x = r.x + i * w + w * 0.1 + j * (w * 0.8 / k);
        const y = axes.py(v);
        ctx.fillRect(x, y, Math.max(1, w * 0.8 / k - 1), r.y + r.h - y);
      });
    });
    if (at != null) { ctx.strokeStyle = "rgba(0,0,0,0.4)"; ctx.strokeRect(r.x + at * w + 0.5, r.y + 0.5, w, r.h); }
    ctx.fillStyle = "#59636e"; ctx.font = "10px system-ui, sans-serif";
    const every = Math.ceil(n / (r.w / (spec.rotate ? 12 : 28)));
    spec.labels.forEach((label, i) => {
      if (i % every) return;
      const x = r.x + (i + 0.5) * w;
      if (spec.rotate) {
        ctx.save(); ctx.translate(x, r.y + r.h + 5); ctx.rotate(-Math.PI / 3);
        ctx.textAlign = "right"; ctx.textBaseline = "middle";
        ctx.fillText(String(label).slice(0, 14), 0, 0); ctx.restore();
      } else {
        ctx.textAlign = "center"; ctx.textBaseline = "top"; ctx.fillText(String(label), x, r.y + r.h + 5);
      }
    });
  };
  draw(null);
  const tip = tooltip();
  canvas.addEventListener("mousemove", (e) => {
    const box = canvas.getBoundingClientRect();
    const r = axes.inner;
    const i = Math.floor((e.clientX - box.left - r.x) / (r.w / n));
    if (i < 0 || i >= n) { draw(null); tip.hide(); return; }
    draw(i);
    tip.show(e, `${spec.xLabel || ""} ${spec.labels[i]}`.trim(),
      ...spec.series.map(s => `${s.name}: ${fmt(s.values[i])}`));
  });
  canvas.addEventListener("mouseleave", () => { draw(null); tip.hide(); });
  const card = el("div", { class: "card chart", "data-chart": spec.title || "" }, canvas);
  if (spec.series.length > 1) card.appendChild(legend(spec.series.map((s, j) => [s.name, s.color || PALETTE[j]])));
  if (spec.note) card.appendChild(el("p", {}, spec.note));
  parent.appendChild(card);
  return card;
}

// A scatter of many points on a canvas: colours per point, a view that can
// be zoomed and panned, and the nearest point to a pixel through a grid.
class ScatterView {
  constructor(width, height, x, y, axisLabels) {
    const c = makeCanvas(width, height);
    Object.assign(this, c);
    this.x = x; this.y = y; this.axisLabels = axisLabels || ["", ""];
    this.axes = new Axes(this.ctx, width, height, { left: 52, right: 12, top: 24, bottom: 40 });
    const [x0, x1] = extent(x), [y0, y1] = extent(y);
    this.home = { x0, x1, y0, y1 };
    this.axes.setView({ ...this.home });
    this.colors = new Array(x.length).fill("#4a5560");
    this.visible = new Array(x.length).fill(true);
    this.radius = x.length > 20000 ? 1.4 : x.length > 3000 ? 2 : 3;
    this.title = "";
    this.overlay = null;
    this.buildIndex();
  }
  buildIndex() {
    const cells = 64, v = this.home;
    this.cells = cells;
    this.index = new Map();
    for (let i = 0; i < this.x.length; i++) {
      const cx = Math.floor((this.x[i] - v.x0) / (v.x1 - v.x0) * cells);
      const cy = Math.floor((this.y[i] - v.y0) / (v.y1 - v.y0) * cells);
      const key = cx * 100003 + cy;
      if (!this.index.has(key)) this.index.set(key, []);
      this.index.get(key).push(i);
    }
  }
  // The nearest visible point within `maxPx` pixels of (px, py), or -1.
  nearest(px, py, maxPx) {
    const a = this.axes, v = this.home, cells = this.cells;
    const dx = a.dataX(px), dy = a.dataY(py);
    const cw = (v.x1 - v.x0) / cells, ch = (v.y1 - v.y0) / cells;
    const rx = Math.abs(a.dataX(px + maxPx) - dx), ry = Math.abs(a.dataY(py - maxPx) - dy);
    const cx0 = Math.floor((dx - rx - v.x0) / cw), cx1 = Math.floor((dx + rx - v.x0) / cw);
    const cy0 = Math.floor((dy - ry - v.y0) / ch), cy1 = Math.floor((dy + ry - v.y0) / ch);
    let best = -1, bestD = maxPx * maxPx;
    if ((cx1 - cx0 + 1) * (cy1 - cy0 + 1) > 20000) return -1;
    for (let cx = cx0; cx <= cx1; cx++) for (let cy = cy0; cy <= cy1; cy++) {
      const list = this.index.get(cx * 100003 + cy);
      if (!list) continue;
      for (const i of list) {
        if (!this.visible[i]) continue;
        const ex = a.px(this.x[i]) - px, ey = a.py(this.y[i]) - py, d = ex * ex + ey * ey;
        if (d < bestD) { bestD = d; best = i; }
      }
    }
    return best;
  }
  draw() {
    const a = this.axes, ctx = this.ctx, r = a.inner;
    a.draw(this.title, this.axisLabels[0], this.axisLabels[1]);
    ctx.save(); ctx.beginPath(); ctx.rect(r.x, r.y, r.w, r.h); ctx.clip();
    const rad = this.radius;
    let drawn = 0;
    for (let i = 0; i < this.x.length; i++) {
      if (!this.visible[i]) continue;
      const X = a.px(this.x[i]), Y = a.py(this.y[i]);
      if (X < r.x - rad || X > r.x + r.w + rad || Y < r.y - rad || Y > r.y + r.h + rad) continue;
      ctx.fillStyle = this.colors[i];
      ctx.fillRect(X - rad, Y - rad, 2 * rad, 2 * rad);
      drawn++;
    }
    this.drawn = drawn;
    if (this.overlay) this.overlay(ctx, a);
    ctx.restore();
    this.canvas.dataset.points = String(drawn);
  }
  zoom(px, py, factor) {
    const a = this.axes, v = a.view, cx = a.dataX(px), cy = a.dataY(py);
    a.setView({ x0: cx + (v.x0 - cx) * factor, x1: cx + (v.x1 - cx) * factor, y0: cy + (v.y0 - cy) * factor, y1: cy + (v.y1 - cy) * factor });
  }
  pan(dxPx, dyPx) {
    const a = this.axes, v = a.view, r = a.inner;
    const dx = dxPx / r.w * (v.x1 - v.x0), dy = dyPx / r.h * (v.y1 - v.y0);
    a.setView({ x0: v.x0 - dx, x1: v.x1 - dx, y0: v.y0 + dy, y1: v.y1 + dy });
  }
  reset() { this.axes.setView({ ...this.home }); }
}
