#include "serve/web_ui.h"

namespace triad {
namespace {

constexpr std::string_view kIndexHtml = R"HTML(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Triad</title>
<link rel="stylesheet" href="/ui/app.css">
</head>
<body>
<header>
  <h1>Triad</h1>
  <span id="status">loading&hellip;</span>
  <label>range
    <select id="range">
      <option value="900">15 min</option>
      <option value="3600" selected>1 h</option>
      <option value="21600">6 h</option>
      <option value="86400">24 h</option>
    </select>
  </label>
  <form id="login" hidden>
    <input id="token" type="password" placeholder="bearer token" autocomplete="off">
    <button type="submit">sign in</button>
  </form>
</header>
<main>
  <section>
    <h2>Services &times; time <small>colour: score / threshold; click a cell</small></h2>
    <div id="lanes" class="panel"></div>
  </section>
  <section>
    <h2>Score timeline <small id="tl-service"></small></h2>
    <div id="timeline" class="panel"></div>
  </section>
  <section id="evidence-section" hidden>
    <h2>Evidence <small id="ev-title"></small></h2>
    <div id="evidence" class="panel"></div>
  </section>
  <section>
    <h2>Newest anomalies</h2>
    <div id="anomalies" class="panel"></div>
  </section>
</main>
<script src="/ui/app.js"></script>
</body>
</html>
)HTML";

constexpr std::string_view kAppCss = R"CSS(
:root { --fg: #1f2933; --muted: #6b7785; --line: #d9dee4; --bad: #c62828; --hi: #1565c0; }
* { box-sizing: border-box; }
body { margin: 0; font: 13px/1.4 system-ui, sans-serif; color: var(--fg); background: #f5f7f9; }
header { display: flex; gap: 16px; align-items: center; padding: 8px 16px; background: #1f2933; color: #fff; }
header h1 { font-size: 18px; margin: 0; }
header #status { flex: 1; color: #cfd6dd; }
header select, header input { font: inherit; }
main { padding: 8px 16px; }
h2 { font-size: 14px; margin: 12px 0 4px; }
h2 small, h3 small { font-weight: normal; color: var(--muted); }
h3 { font-size: 13px; margin: 10px 0 4px; }
.panel { background: #fff; border: 1px solid var(--line); border-radius: 4px; padding: 8px; overflow-x: auto; }
svg { display: block; width: 100%; height: auto; }
svg text { font: 11px system-ui, sans-serif; fill: var(--fg); }
svg .axis { stroke: var(--line); }
svg text.bad { fill: var(--bad); font-weight: 600; }
svg .cell, svg .dot, svg .clickable { cursor: pointer; }
svg .sel { stroke: #000; stroke-width: 1.5; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 3px 6px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { color: var(--muted); font-weight: 600; }
tr.click { cursor: pointer; }
tr.click:hover { background: #eef3f8; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
code, pre { font: 12px ui-monospace, monospace; }
pre { margin: 0; white-space: pre-wrap; word-break: break-all; }
.bad { color: var(--bad); font-weight: 600; }
.muted { color: var(--muted); }
.empty { color: var(--muted); padding: 12px; }
)CSS";

constexpr std::string_view kAppJs = R"JS('use strict';
// Triad web UI: reads /api/v1/ only. Data is always inserted as text nodes.
const SVGNS = 'http://www.w3.org/2000/svg';
const $ = (id) => document.getElementById(id);
let token = sessionStorage.getItem('triad_token') || '';
const state = { services: [], scores: [], anomalies: [], selected: '', anomaly: null };

// An element (SVG when `ns` is given) with attributes, listeners (onX) and text/node children.
function make(ns, tag, attrs, kids) {
  const e = ns ? document.createElementNS(ns, tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v); else e.setAttribute(k, v);
  }
  for (const k of kids) if (k != null) e.append(k instanceof Node ? k : String(k));
  return e;
}
const h = (tag, attrs, ...kids) => make(null, tag, attrs, kids);
const s = (tag, attrs, ...kids) => make(SVGNS, tag, attrs, kids);
function title(text) { return s('title', {}, text); }
function fill(node, ...kids) { node.replaceChildren(...kids); return node; }

async function api(path) {
  const r = await fetch('/api/v1/' + path, { headers: token ? { Authorization: 'Bearer ' + token } : {} });
  if (r.status === 401) { $('login').hidden = false; throw new Error('sign in with the bearer token'); }
  if (!r.ok) throw new Error(path + ': HTTP ' + r.status);
  return r.json();
}

const NS_PER_S = 1e9;
function fmtTime(ns) { return new Date(ns / 1e6).toISOString().slice(11, 19); }
function fmtFull(ns) { return new Date(ns / 1e6).toISOString().replace('T', ' ').slice(0, 19) + 'Z'; }
function fmtNum(x) {
  if (x == null || !isFinite(x)) return String(x);
  const a = Math.abs(x);
  return a !== 0 && (a >= 1e5 || a < 1e-3) ? x.toExponential(2) : (Math.round(x * 1000) / 1000).toString();
}
// Colour of a score: green (low) through yellow to orange at the threshold; anomalies red.
function scoreColour(score, threshold, anomaly) {
  if (anomaly) return '#c62828';
  const r = threshold > 0 ? Math.min(Math.max(score / threshold, 0), 1) : 0;
  return 'hsl(' + Math.round(120 - 95 * r) + ',70%,' + Math.round(80 - 25 * r) + '%)';
}
function thresholdOf(service) {
  const sv = state.services.find((x) => x.name === service);
  return sv ? sv.threshold : 0;
}
function anomalyAt(service, start) {
  return state.anomalies.find((a) => a.service === service && a.start_ns === start);
}

function timeAxis(g, x0, x1, t0, t1, y, ticks) {
  for (let i = 0; i <= ticks; ++i) {
    const t = t0 + (t1 - t0) * i / ticks, x = x0 + (x1 - x0) * i / ticks;
    g.append(s('line', { x1: x, x2: x, y1: y, y2: y + 4, class: 'axis' }));
    const anchor = i === 0 ? 'start' : i === ticks ? 'end' : 'middle';
    g.append(s('text', { x: x, y: y + 15, 'text-anchor': anchor }, fmtTime(t)));
  }
}

function renderLanes() {
  const box = $('lanes');
  if (!state.scores.length) return fill(box, h('div', { class: 'empty' }, 'No scored windows yet.'));
  const names = [...new Set(state.scores.map((x) => x.service))].sort();
  const t0 = Math.min(...state.scores.map((x) => x.start_ns));
  const t1 = Math.max(...state.scores.map((x) => x.end_ns));
  const W = 1200, L = 150, R = 10, row = 20, top = 4;
  const H = top + names.length * row + 24;
  const xs = (t) => L + (W - L - R) * (t - t0) / Math.max(1, t1 - t0);
  const svg = s('svg', { id: 'swimlanes', viewBox: '0 0 ' + W + ' ' + H, role: 'img' });
  names.forEach((n, i) => {
    const y = top + i * row;
    svg.append(s('text', { x: L - 6, y: y + 14, 'text-anchor': 'end', class: 'clickable',
      onclick: () => select(n) }, n.length > 22 ? n.slice(0, 21) + '\u2026' : n, title(n)));
    if (n === state.selected) svg.append(s('rect', { x: L, y: y, width: W - L - R, height: row - 2, fill: 'none', class: 'sel' }));
  });
  const th = {};
  for (const x of state.scores) {
    const i = names.indexOf(x.service);
    if (!(x.service in th)) th[x.service] = thresholdOf(x.service);
    const a = x.anomaly ? anomalyAt(x.service, x.start_ns) : null;
    const x0 = xs(x.start_ns), w = Math.max(1, xs(x.end_ns) - x0 - 0.5);
    svg.append(s('rect', {
      class: 'cell' + (x.anomaly ? ' anomalous' : ''), x: x0, y: top + i * row + 1, width: w, height: row - 4,
      fill: scoreColour(x.score, th[x.service], x.anomaly),
      onclick: () => { select(x.service); if (a) location.hash = '#/anomaly/' + a.id; },
    }, title(x.service + ' ' + fmtFull(x.start_ns) + '\nscore ' + fmtNum(x.score) + ' / threshold ' +
             fmtNum(th[x.service]) + (x.anomaly ? '\nANOMALY' : ''))));
  }
  timeAxis(svg, L, W - R, t0, t1, top + names.length * row + 2, 8);
  fill(box, svg);
}

function renderTimeline() {
  const box = $('timeline');
  const n = state.selected;
  $('tl-service').textContent = n ? n : '';
  const pts = state.scores.filter((x) => x.service === n);
  if (!pts.length) return fill(box, h('div', { class: 'empty' }, 'Select a service.'));
  const th = thresholdOf(n);
  const t0 = pts[0].start_ns, t1 = pts[pts.length - 1].end_ns;
  const ymax = Math.max(th * 1.5, ...pts.map((p) => p.score)) || 1;
  const W = 1200, H = 220, L = 50, R = 10, T = 8, B = 24;
  const xs = (t) => L + (W - L - R) * (t - t0) / Math.max(1, t1 - t0);
  const ys = (v) => T + (H - T - B) * (1 - v / ymax);
  const svg = s('svg', { id: 'score-timeline', viewBox: '0 0 ' + W + ' ' + H, role: 'img' });
  // The threshold band: normal below the threshold (green), alerting above it (red).
  svg.append(s('rect', { x: L, y: ys(th), width: W - L - R, height: ys(0) - ys(th), fill: '#2e7d32', 'fill-opacity': 0.08, class: 'band' }));
  svg.append(s('rect', { x: L, y: T, width: W - L - R, height: ys(th) - T, fill: '#c62828', 'fill-opacity': 0.07 }));
  svg.append(s('line', { x1: L, x2: W - R, y1: ys(th), y2: ys(th), stroke: '#c62828', 'stroke-dasharray': '5 4' }));
  svg.append(s('text', { x: W - R - 4, y: ys(th) - 4, 'text-anchor': 'end' }, 'threshold ' + fmtNum(th)));
  for (let i = 0; i <= 4; ++i) {
    const v = ymax * i / 4;
    svg.append(s('line', { x1: L - 4, x2: L, y1: ys(v), y2: ys(v), class: 'axis' }));
    svg.append(s('text', { x: L - 6, y: ys(v) + 4, 'text-anchor': 'end' }, fmtNum(v)));
  }
  svg.append(s('line', { x1: L, x2: L, y1: T, y2: H - B, class: 'axis' }));
  const mid = (p) => xs((p.start_ns + p.end_ns) / 2);
  svg.append(s('polyline', { fill: 'none', stroke: '#1565c0', 'stroke-width': 1.5,
    points: pts.map((p) => mid(p).toFixed(1) + ',' + ys(p.score).toFixed(1)).join(' ') }));
  for (const p of pts) {
    if (!p.anomaly) continue;
    const a = anomalyAt(p.service, p.start_ns);
    svg.append(s('circle', { class: 'dot', cx: mid(p), cy: ys(p.score), r: 4, fill: '#c62828',
      onclick: () => { if (a) location.hash = '#/anomaly/' + a.id; } },
      title(fmtFull(p.start_ns) + ' score ' + fmtNum(p.score))));
  }
  timeAxis(svg, L, W - R, t0, t1, H - B, 8);
  fill(box, svg);
}

function renderAnomalies() {
  const rows = state.anomalies.slice(0, 50).map((a) => h('tr', { class: 'click', onclick: () => { location.hash = '#/anomaly/' + a.id; } },
    h('td', {}, fmtFull(a.start_ns)), h('td', {}, a.service), h('td', { class: 'num bad' }, fmtNum(a.score)),
    h('td', { class: 'num' }, fmtNum(a.threshold)), h('td', {}, a.summary)));
  fill($('anomalies'), rows.length
    ? h('table', {}, h('tr', {}, ...['window', 'service', 'score', 'threshold', 'summary'].map((t) => h('th', {}, t))), ...rows)
    : h('div', { class: 'empty' }, 'No anomalies.'));
}

// Expected vs observed, one pair of bars per contribution.
function contributionChart(cs) {
  const W = 1200, row = 34, L = 330, R = 210;
  const svg = s('svg', { id: 'metric-chart', viewBox: '0 0 ' + W + ' ' + (cs.length * row + 6), role: 'img' });
  cs.forEach((c, i) => {
    const y = 4 + i * row, m = Math.max(Math.abs(c.observed), Math.abs(c.expected), 1e-12);
    const bw = (v) => Math.max(1, (W - L - R) * Math.abs(v) / m);
    svg.append(s('text', { x: L - 8, y: y + 19, 'text-anchor': 'end' }, c.feature.length > 48 ? c.feature.slice(0, 47) + '\u2026' : c.feature, title(c.feature)));
    svg.append(s('rect', { x: L, y: y, width: bw(c.expected), height: 12, fill: '#90a4ae' }, title('expected ' + fmtNum(c.expected))));
    svg.append(s('rect', { x: L, y: y + 14, width: bw(c.observed), height: 12, fill: '#c62828' }, title('observed ' + fmtNum(c.observed))));
    svg.append(s('text', { x: W - R + 6, y: y + 10 }, 'expected ' + fmtNum(c.expected)));
    svg.append(s('text', { x: W - R + 6, y: y + 24 }, 'observed ' + fmtNum(c.observed) + '  z ' + fmtNum(c.z)));
  });
  return svg;
}

// A trace as a waterfall in tree order; spans named in the evidence are outlined.
function traceWaterfall(spans, offending) {
  const kids = spans.map(() => []), roots = [];
  spans.forEach((x, i) => (x.parent >= 0 && x.parent < spans.length ? kids[x.parent] : roots).push(i));
  const order = [], depth = {};
  const walk = (i, d) => { order.push(i); depth[i] = d; kids[i].sort((a, b) => spans[a].start_ns - spans[b].start_ns).forEach((k) => walk(k, d + 1)); };
  roots.sort((a, b) => spans[a].start_ns - spans[b].start_ns).forEach((r) => walk(r, 0));
  const t0 = Math.min(...spans.map((x) => x.start_ns));
  const t1 = Math.max(...spans.map((x) => x.start_ns + x.duration_ms * 1e6));
  const W = 1200, L = 380, R = 70, row = 18;
  const xs = (t) => L + (W - L - R) * (t - t0) / Math.max(1, t1 - t0);
  const svg = s('svg', { class: 'trace', viewBox: '0 0 ' + W + ' ' + (order.length * row + 4), role: 'img' });
  order.forEach((i, k) => {
    const x = spans[i], y = 2 + k * row, hot = offending.has(x.span_id);
    const label = '\u00a0'.repeat(2 * Math.min(depth[i], 12)) + x.service + ': ' + x.name;
    svg.append(s('text', { x: 4, y: y + 12, class: hot ? 'bad' : '' }, label.length > 60 ? label.slice(0, 59) + '\u2026' : label));
    const x0 = xs(x.start_ns), w = Math.max(2, xs(x.start_ns + x.duration_ms * 1e6) - x0);
    svg.append(s('rect', { x: x0, y: y + 2, width: w, height: row - 5, rx: 2,
      fill: x.error ? '#e57373' : '#64b5f6', stroke: hot ? '#b71c1c' : 'none', 'stroke-width': hot ? 2.5 : 0,
      class: hot ? 'offending' : '' },
      title(x.service + ' ' + x.name + '\n' + fmtNum(x.duration_ms) + ' ms' + (x.error ? '\nERROR' : '') +
            (x.http_status ? '\nHTTP ' + x.http_status : '') + (x.status_message ? '\n' + x.status_message : ''))));
    svg.append(s('text', { x: Math.min(x0 + w + 4, W - R + 4), y: y + 12 }, fmtNum(x.duration_ms) + ' ms'));
  });
  return svg;
}

function renderEvidence(a) {
  const ev = a.evidence || {};
  $('evidence-section').hidden = false;
  $('ev-title').textContent = a.service + ' \u00b7 ' + fmtFull(a.start_ns) + ' \u2013 ' + fmtTime(a.end_ns) +
    ' \u00b7 score ' + fmtNum(a.score) + ' / ' + fmtNum(a.threshold) + ' \u00b7 model ' + a.model;
  const parts = [h('p', {}, a.summary)];
  const cs = ev.contributions || [];
  if (cs.length) {
    parts.push(h('h3', {}, 'Metrics: expected vs observed'), contributionChart(cs));
    parts.push(h('table', {}, h('tr', {}, ...['feature', 'observed', 'expected', 'z', 'detail'].map((t) => h('th', {}, t))),
      ...cs.map((c) => h('tr', {}, h('td', {}, h('code', {}, c.feature)), h('td', { class: 'num' }, fmtNum(c.observed)),
        h('td', { class: 'num' }, fmtNum(c.expected)), h('td', { class: 'num' }, fmtNum(c.z)), h('td', {}, c.detail || '')))));
  }
  if ((ev.slow_ops || []).length) parts.push(h('h3', {}, 'Slow operations'), h('pre', {}, ev.slow_ops.join('\n')));
  const logs = ev.log_templates || [];
  parts.push(h('h3', {}, 'Log templates ', h('small', {}, 'rarest first')));
  parts.push(logs.length ? h('table', {}, h('tr', {}, h('th', {}, 'count'), h('th', {}, 'template / example line')),
    ...logs.map((l) => h('tr', {}, h('td', { class: 'num' }, l.count),
      h('td', {}, h('pre', {}, l.template), l.example ? h('pre', { class: 'muted' }, l.example) : null))))
    : h('div', { class: 'empty' }, 'No log lines in this window.'));
  const spans = ev.spans || [];
  const offending = new Set(spans.map((x) => x.span_id));
  parts.push(h('h3', {}, 'Spans ', h('small', {}, 'errors first, then slowest')));
  parts.push(spans.length ? h('table', {}, h('tr', {}, ...['trace', 'span', 'operation', 'ms', 'status'].map((t) => h('th', {}, t))),
    ...spans.map((x) => h('tr', {}, h('td', {}, h('code', {}, x.trace_id.slice(0, 16))), h('td', {}, h('code', {}, x.span_id)),
      h('td', {}, x.name), h('td', { class: 'num' }, fmtNum(x.duration_ms)),
      h('td', { class: x.error ? 'bad' : '' }, x.error ? 'error' + (x.http_status ? ' ' + x.http_status : '') : 'ok'))))
    : h('div', { class: 'empty' }, 'No spans recorded for this window.'));
  for (const [id, tr] of Object.entries(ev.traces || {}).slice(0, 3)) {
    if (!Array.isArray(tr) || !tr.length) continue;
    parts.push(h('h3', {}, 'Trace ', h('code', {}, id), h('small', {}, ' offending spans outlined in dark red')), traceWaterfall(tr, offending));
  }
  fill($('evidence'), ...parts);
}

async function showAnomaly(id) {
  try {
    const a = await api('anomalies/' + encodeURIComponent(id));
    state.anomaly = a;
    if (state.selected !== a.service) { state.selected = a.service; renderLanes(); renderTimeline(); }
    renderEvidence(a);
    $('evidence-section').scrollIntoView({ block: 'start' });
  } catch (e) { $('status').textContent = String(e.message || e); }
}

function select(name) {
  state.selected = name;
  renderLanes();
  renderTimeline();
}

async function refresh() {
  try {
    const [sv, model] = await Promise.all([api('services'), api('model')]);
    state.services = sv.services;
    const last = Math.max(0, ...state.services.map((x) => x.last_window_ns));
    const from = last - Number($('range').value) * NS_PER_S;
    const [sc, an] = await Promise.all([api('scores?limit=200000&from=' + from), api('anomalies?limit=500&from=' + from)]);
    state.scores = sc.scores;
    state.anomalies = an.anomalies;
    if (!state.selected || !state.services.some((x) => x.name === state.selected)) {
      const worst = [...state.services].sort((a, b) => b.anomalies - a.anomalies || b.last_score - a.last_score)[0];
      state.selected = worst ? worst.name : '';
    }
    const m = model.active;
    $('status').textContent = state.services.length + ' services \u00b7 ' + state.anomalies.length + ' anomalies in range \u00b7 ' +
      (model.scoring && m ? 'model ' + m.name + ' (' + m.kind + ')' : 'not scoring (no model)') +
      (last ? ' \u00b7 latest window ' + fmtFull(last) : '');
    renderLanes();
    renderTimeline();
    renderAnomalies();
  } catch (e) { $('status').textContent = String(e.message || e); }
}

function route() {
  const m = location.hash.match(/^#\/anomaly\/(\d+)$/);
  if (m) showAnomaly(m[1]);
}

$('login').addEventListener('submit', (e) => {
  e.preventDefault();
  token = $('token').value;
  sessionStorage.setItem('triad_token', token);
  $('login').hidden = true;
  refresh().then(route);
});
$('range').addEventListener('change', refresh);
window.addEventListener('hashchange', route);
refresh().then(route);
setInterval(refresh, 15000);
)JS";

}  // namespace

const std::vector<WebAsset>& WebAssets() {
  static const std::vector<WebAsset> assets = {
      {"/", "text/html; charset=utf-8", kIndexHtml},
      {"/ui/app.js", "text/javascript; charset=utf-8", kAppJs},
      {"/ui/app.css", "text/css; charset=utf-8", kAppCss},
  };
  return assets;
}

const WebAsset* FindWebAsset(std::string_view path) {
  for (const WebAsset& a : WebAssets())
    if (a.path == path) return &a;
  return nullptr;
}

std::string_view WebUiContentSecurityPolicy() {
  return "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
         "connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";
}

}  // namespace triad
