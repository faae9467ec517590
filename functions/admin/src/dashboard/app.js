// Baton's handoff dashboard: reads GET /admin/metrics (the session cookie authenticates it) and
// draws the tiles, the time-to-first-touch chart, the speed-to-lead curve, the rates by source
// and owner, and the leads at risk or breached; a click on a lead shows its routing audit.
"use strict";

const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  if (seconds < 60) return `${seconds} s`;
  const m = Math.floor(seconds / 60), s = seconds % 60;
  if (m < 60) return s ? `${m} min ${s} s` : `${m} min`;
  const h = Math.floor(m / 60), mm = m % 60;
  if (h < 24) return mm ? `${h} h ${mm} min` : `${h} h`;
  const d = Math.floor(h / 24), hh = h % 24;
  return hh ? `${d} d ${hh} h` : `${d} d`;
}
const pct = (r) => (r === null || r === undefined ? "–" : `${Math.round(r * 1000) / 10}%`);
const count = (n, one, many) => `${n} ${n === 1 ? one : many}`;
const text = (s) => document.createTextNode(s === null || s === undefined ? "" : String(s));

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const c of children) e.append(typeof c === "string" ? text(c) : c);
  return e;
}
function svg(tag, attrs, label) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (label !== undefined) e.textContent = label;
  return e;
}

function tiles(data) {
  const f = data.overall;
  $("ttft").textContent = duration(f.time_to_first_touch.median_seconds);
  $("ttft-parts").textContent = `system ${duration(f.system_delay.median_seconds)} · human ${duration(f.human_delay.median_seconds)} · n=${f.time_to_first_touch.count}`;
  $("sla").textContent = pct(f.sla_attainment);
  $("sla-parts").textContent = `${f.sla_met} met · ${f.sla_missed} missed · ${f.sla_pending} pending · ${count(f.breaches, "breach", "breaches")} · ${count(f.warnings, "warning", "warnings")} · ${f.reassignments} reassigned`;
  const open = data.open;
  $("past-due").textContent = `${open.breached.length}${open.truncated ? "+" : ""}`;
  $("at-risk").textContent = `${open.at_risk.length} more due within ${open.horizon_minutes} min`;
  $("leads").textContent = String(f.outcomes.leads);
  const pipeline = Object.entries(f.pipeline).map(([c, n]) => `${c} ${n.toLocaleString()}`).join(" · ");
  $("rates").textContent = `contact ${pct(f.outcomes.contact_rate)} · meeting ${pct(f.outcomes.meeting_rate)} · opportunity ${pct(f.outcomes.opportunity_rate)}${pipeline ? " · " + pipeline : ""}`;
}

function axes(chart, w, h, pad, ymax, yfmt) {
  for (let i = 0; i <= 4; i++) {
    const y = pad.t + (h - pad.t - pad.b) * (1 - i / 4);
    chart.append(svg("line", { x1: pad.l, x2: w - pad.r, y1: y, y2: y, stroke: "#e3e6ec" }));
    chart.append(svg("text", { x: pad.l - 6, y: y + 4, "text-anchor": "end" }, yfmt((ymax * i) / 4)));
  }
}

function ttftChart(series) {
  const chart = $("ttft-chart");
  chart.replaceChildren();
  const w = 640, h = 220, pad = { l: 64, r: 12, t: 10, b: 28 };
  const points = series.map((p) => ({ start: p.start, median: p.figures.time_to_first_touch.median_seconds, p90: p.figures.time_to_first_touch.p90_seconds, n: p.figures.time_to_first_touch.count }));
  const ymax = Math.max(60, ...points.map((p) => p.p90 || 0));
  axes(chart, w, h, pad, ymax, (v) => duration(Math.round(v)));
  const x = (i) => pad.l + (points.length <= 1 ? (w - pad.l - pad.r) / 2 : ((w - pad.l - pad.r) * i) / (points.length - 1));
  const y = (v) => pad.t + (h - pad.t - pad.b) * (1 - v / ymax);
  for (const [key, dash] of [["p90", "4 3"], ["median", ""]]) {
    const d = points.map((p, i) => (p[key] === null ? null : `${x(i)},${y(p[key])}`)).filter(Boolean);
    if (d.length) chart.append(svg("polyline", { points: d.join(" "), fill: "none", stroke: "#2f6fde", "stroke-width": key === "median" ? 2.5 : 1.5, "stroke-dasharray": dash, "data-series": key }));
  }
  points.forEach((p, i) => {
    if (p.median !== null) {
      const dot = svg("circle", { cx: x(i), cy: y(p.median), r: 3, fill: "#2f6fde", "data-start": p.start });
      dot.append(svg("title", {}, `${p.start}: median ${duration(p.median)}, p90 ${duration(p.p90)}, n=${p.n}`));
      chart.append(dot);
    }
  });
  const step = Math.max(1, Math.ceil(points.length / 8));
  points.forEach((p, i) => { if (i % step === 0) chart.append(svg("text", { x: x(i), y: h - 8, "text-anchor": "middle" }, p.start.slice(5))); });
}

function curve(points) {
  const chart = $("curve");
  chart.replaceChildren();
  const w = 640, h = 220, pad = { l: 44, r: 12, t: 10, b: 40 };
  axes(chart, w, h, pad, 1, (v) => `${Math.round(v * 100)}%`);
  const kinds = [["contact_rate", "#2f6fde", "contact"], ["meeting_rate", "#1f8a4c", "meeting"], ["opportunity_rate", "#c77700", "opportunity"]];
  const band = (w - pad.l - pad.r) / points.length;
  const bar = (band - 16) / kinds.length;
  points.forEach((p, i) => {
    kinds.forEach(([key, color, name], k) => {
      const v = p[key] || 0, bh = (h - pad.t - pad.b) * v;
      const r = svg("rect", { x: pad.l + i * band + 8 + k * bar, y: h - pad.b - bh, width: bar - 2, height: bh, fill: color, "data-bucket": p.bucket, "data-kind": name });
      r.append(svg("title", {}, `${p.label}: ${name} ${pct(p[key])} of ${p.leads}`));
      chart.append(r);
    });
    chart.append(svg("text", { x: pad.l + i * band + band / 2, y: h - pad.b + 14, "text-anchor": "middle" }, p.label));
    chart.append(svg("text", { x: pad.l + i * band + band / 2, y: h - pad.b + 28, "text-anchor": "middle" }, `n=${p.leads}`));
  });
  const body = $("curve-table").tBodies[0];
  body.replaceChildren(...points.map((p) => el("tr", { "data-bucket": p.bucket }, el("td", {}, p.label), el("td", { class: "num" }, String(p.leads)), el("td", { class: "num" }, pct(p.contact_rate)), el("td", { class: "num" }, pct(p.meeting_rate)), el("td", { class: "num" }, pct(p.opportunity_rate)))));
}

function byTable(id, rows) {
  const body = $(id).tBodies[0];
  body.replaceChildren(...rows.map((r) => {
    const f = r.figures;
    return el("tr", { "data-value": r.value }, el("td", {}, r.value), el("td", { class: "num" }, String(f.outcomes.leads)), el("td", { class: "num" }, duration(f.time_to_first_touch.median_seconds)), el("td", { class: "num" }, pct(f.sla_attainment)), el("td", { class: "num" }, pct(f.outcomes.contact_rate)), el("td", { class: "num" }, pct(f.outcomes.meeting_rate)));
  }));
  if (!rows.length) body.append(el("tr", {}, el("td", { colspan: "6" }, "No leads in this range.")));
}

function openTable(open) {
  const body = $("open").tBodies[0];
  const rows = [...open.breached.map((l) => ["breached", l]), ...open.at_risk.map((l) => ["at_risk", l])];
  body.replaceChildren(...rows.map(([state, l]) => {
    const tr = el("tr", { class: "clickable", "data-lead": l.lead_id, tabindex: "0" }, el("td", { class: `state-${state}` }, state === "breached" ? "breached" : "at risk"), el("td", {}, `${l.name}${l.company ? " · " + l.company : ""}`), el("td", {}, l.owner.name), el("td", {}, l.priority), el("td", {}, new Date(l.due_at).toLocaleString()));
    tr.addEventListener("click", () => audit(l.lead_id));
    tr.addEventListener("keydown", (e) => { if (e.key === "Enter") audit(l.lead_id); });
    return tr;
  }));
  if (!rows.length) body.append(el("tr", {}, el("td", { colspan: "5" }, "Nothing at risk right now.")));
}

async function audit(id) {
  const panel = $("audit"), out = $("audit-body");
  panel.hidden = false;
  out.textContent = "Loading…";
  const response = await fetch(`/admin/leads/${encodeURIComponent(id)}`, { credentials: "same-origin" });
  if (!response.ok) { out.textContent = `Could not load the lead (${response.status}).`; return; }
  const lead = await response.json();
  const d = lead.decision || {};
  const list = (items, f) => el("ul", {}, ...(items || []).map((i) => el("li", {}, f(i))));
  out.replaceChildren(el("dl", { "data-lead": id },
    el("dt", {}, "Lead"), el("dd", {}, [lead.first_name, lead.last_name].filter(Boolean).join(" ") || lead.email || id),
    el("dt", {}, "Status"), el("dd", {}, lead.status),
    el("dt", {}, "Owner"), el("dd", { "data-testid": "audit-owner" }, d.owner ? `${d.owner.name} (${d.owner.id})` : "–"),
    el("dt", {}, "Rule"), el("dd", { "data-testid": "audit-rule" }, d.rule || "–"),
    el("dt", {}, "Pool"), el("dd", {}, d.pool || "–"),
    el("dt", {}, "Ruleset"), el("dd", {}, d.ruleset || "–"),
    el("dt", {}, "Priority"), el("dd", {}, d.score ? `${d.score.priority} (${d.score.points} points)` : "–"),
    el("dt", {}, "Why"), el("dd", {}, list(d.score && d.score.reasons, (r) => (typeof r === "string" ? r : `${r.points > 0 ? "+" : ""}${r.points} ${r.reason}`))),
    el("dt", {}, "Passed over"), el("dd", {}, list(d.skipped, (s) => `${s.member}: ${s.reason}`)),
    el("dt", {}, "Due"), el("dd", {}, d.first_touch_due_at ? new Date(d.first_touch_due_at).toLocaleString() : "–"),
    el("dt", {}, "SLA steps"), el("dd", {}, list(lead.sla_history, (s) => `${s.rung} at ${new Date(s.at).toLocaleString()} (${s.owner}${s.to ? " → " + s.to : ""})`)),
  ));
}

async function load() {
  const params = new URLSearchParams({ from: $("from").value, to: $("to").value, period: $("period").value, by: "source,owner" });
  history.replaceState(null, "", `?${params}`);
  $("status").textContent = "Loading…";
  $("status").className = "";
  try {
    const response = await fetch(`/admin/metrics?${params}`, { credentials: "same-origin" });
    if (response.status === 401) { location.reload(); return; }
    const data = await response.json();
    if (!response.ok) throw new Error(data.message || response.statusText);
    tiles(data);
    ttftChart(data.series);
    curve(data.overall.speed_to_lead);
    byTable("by-source", data.by.source || []);
    byTable("by-owner", data.by.owner || []);
    openTable(data.open);
    $("status").textContent = `${data.from} to ${data.to} · as of ${new Date(data.as_of).toLocaleString()}`;
    document.body.dataset.loaded = "true";
  } catch (e) {
    $("status").textContent = `Could not load the metrics: ${e.message}`;
    $("status").className = "error";
  }
}

function init() {
  const q = new URLSearchParams(location.search);
  const today = new Date().toISOString().slice(0, 10);
  const start = new Date(Date.now() - 29 * 86400000).toISOString().slice(0, 10);
  $("from").value = q.get("from") || start;
  $("to").value = q.get("to") || today;
  $("period").value = q.get("period") || "day";
  $("range").addEventListener("submit", (e) => { e.preventDefault(); load(); });
  load();
}
document.addEventListener("DOMContentLoaded", init);
