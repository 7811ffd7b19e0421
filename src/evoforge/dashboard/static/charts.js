// Canvas charts drawn by hand (no library, no network): the score over time and the
// lineage tree. Each keeps the screen position of its points for hover and click.
"use strict";

const EFCharts = {};

function setup(canvas) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.parentElement.clientWidth || 800;
  const height = Number(canvas.getAttribute("height"));
  canvas.style.width = width + "px";
  canvas.style.height = height + "px";
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);
  ctx.font = "12px system-ui, sans-serif";
  return { ctx, width, height };
}

// Hover shows the nearest point's summary; click opens it. Listeners are bound once.
function interact(canvas, tip, opts) {
  canvas._opts = opts;
  if (canvas._bound) return;
  canvas._bound = true;
  const nearest = (ev) => {
    const r = canvas.getBoundingClientRect();
    const x = ev.clientX - r.left, y = ev.clientY - r.top;
    let best = null, bestD = 64;
    for (const n of canvas._nodes || []) {
      const d = (n.x - x) ** 2 + (n.y - y) ** 2;
      if (d < bestD) { best = n; bestD = d; }
    }
    return best;
  };
  canvas.addEventListener("mousemove", (ev) => {
    const n = nearest(ev);
    canvas.style.cursor = n ? "pointer" : "default";
    if (!n) { tip.hidden = true; return; }
    tip.hidden = false;
    tip.textContent = "#" + n.row.id + " · " + n.row.status + " · " + n.row.proposer +
      " · " + EF.fmt(n.row.score) + (n.row.flags.length ? " · flags: " + n.row.flags.join(", ") : "");
    tip.style.left = Math.min(n.x + 12, canvas.clientWidth - 260) + "px";
    tip.style.top = Math.max(n.y - 30, 0) + "px";
  });
  canvas.addEventListener("mouseleave", () => { tip.hidden = true; });
  canvas.addEventListener("click", (ev) => { const n = nearest(ev); if (n) canvas._opts.onclick(n.row.id); });
}

function niceRange(values) {
  let lo = Math.min(...values), hi = Math.max(...values);
  if (!isFinite(lo)) return [0, 1];
  if (lo === hi) { lo -= 0.5; hi += 0.5; }
  const pad = (hi - lo) * 0.06;
  return [lo - pad, hi + pad];
}

EFCharts.score = function (canvas, tip, rows, opts) {
  const { ctx, width, height } = setup(canvas);
  const m = { l: 56, r: 16, t: 12, b: 34 };
  const done = rows.filter((r) => r.t && (r.status === "succeeded" || r.status === "failed"));
  canvas._nodes = [];
  interact(canvas, tip, opts);
  if (!done.length) { ctx.fillStyle = "#6b7280"; ctx.fillText("waiting for the first candidate…", m.l, height / 2); return; }
  const t0 = Math.min(...done.map((r) => r.t));
  const xs = done.map((r) => (r.t - t0) / 60);
  const vals = [];
  // Failed candidates may carry an out-of-bounds score: they never count, so never set the scale.
  for (const r of done) {
    if (r.status !== "succeeded") continue;
    if (r.score !== null) vals.push(r.score);
    if (r.heldout !== null) vals.push(r.heldout);
  }
  const [ylo, yhi] = niceRange(vals.length ? vals : [0, 1]);
  const line = (opts.championLine || []).filter((m) => m.t);
  const xhi = Math.max(...xs, ...line.map((m) => (m.t - t0) / 60), 0.1);
  const X = (v) => m.l + (v / xhi) * (width - m.l - m.r);
  const Y = (v) => m.t + (1 - (v - ylo) / (yhi - ylo)) * (height - m.t - m.b);
  // axes and grid
  ctx.strokeStyle = "#e5e7eb"; ctx.fillStyle = "#6b7280"; ctx.lineWidth = 1;
  for (let i = 0; i <= 4; i++) {
    const v = ylo + ((yhi - ylo) * i) / 4, y = Y(v);
    ctx.beginPath(); ctx.moveTo(m.l, y); ctx.lineTo(width - m.r, y); ctx.stroke();
    ctx.fillText(EF.fmt(v, 3), 4, y + 4);
  }
  for (let i = 0; i <= 5; i++) {
    const v = (xhi * i) / 5;
    ctx.fillText(xhi < 3 ? Math.round(v * 60) + " s" : v.toFixed(1) + " min", X(v) - 14, height - 12);
  }
  // candidates: failures on the bottom edge, flags ringed, champions gold
  const failY = height - m.b + 6;
  done.forEach((r, i) => {
    const x = X(xs[i]);
    if (r.status !== "succeeded" || r.score === null) {
      ctx.strokeStyle = "#dc2626"; ctx.lineWidth = 1.5;
      ctx.beginPath(); ctx.moveTo(x - 3, failY - 3); ctx.lineTo(x + 3, failY + 3);
      ctx.moveTo(x + 3, failY - 3); ctx.lineTo(x - 3, failY + 3); ctx.stroke();
      canvas._nodes.push({ x, y: failY, row: r });
      return;
    }
    const y = Y(r.score);
    ctx.fillStyle = opts.colourOf(r.proposer);
    ctx.globalAlpha = 0.75;
    ctx.beginPath(); ctx.arc(x, y, 3, 0, 2 * Math.PI); ctx.fill();
    ctx.globalAlpha = 1;
    if (r.flags.length) { ctx.strokeStyle = "#f59e0b"; ctx.lineWidth = 2; ctx.beginPath(); ctx.arc(x, y, 6, 0, 2 * Math.PI); ctx.stroke(); }
    if (opts.champions.has(r.id)) {
      ctx.strokeStyle = "#b45309"; ctx.lineWidth = 2;
      ctx.beginPath(); ctx.arc(x, y, r.id === opts.current ? 9 : 7, 0, 2 * Math.PI); ctx.stroke();
    }
    canvas._nodes.push({ x, y, row: r });
  });
  // The best raw first evaluation so far, declined challengers included: lighter.
  const order = done.map((r, i) => [xs[i], r]).filter(([, r]) => r.status === "succeeded" && r.score !== null).sort((a, b) => a[0] - b[0]);
  const better = (a, b) => (opts.maximize ? a > b : a < b);
  const raw = [];
  for (const [x, r] of order) {
    if (!raw.length || better(r.score, raw[raw.length - 1][1])) raw.push([x, r.score]);
  }
  // The champion's objective and its held-out figure: they move only when the champion does.
  const champ = (key) => line.filter((m) => m[key] !== null).map((m) => [Math.max(0, (m.t - t0) / 60), m[key]]);
  const steps = (points, dash, colour, width) => {
    ctx.setLineDash(dash); ctx.strokeStyle = colour; ctx.lineWidth = width; ctx.beginPath();
    let last = null;
    for (const [x, v] of points) {
      const px = X(x), py = Y(v);
      if (last === null) ctx.moveTo(px, py); else { ctx.lineTo(px, last); ctx.lineTo(px, py); }
      last = py;
    }
    if (last !== null) ctx.lineTo(X(xhi), last);
    ctx.stroke(); ctx.setLineDash([]);
  };
  steps(raw, [2, 3], "#9ca3af", 1.5);
  steps(champ("score"), [], "#111827", 2);
  steps(champ("heldout"), [6, 4], "#7c3aed", 2);
};

// Tree by first parent: x is depth, y the node's position in depth-first order, so
// each subtree is a band and the champions' line of descent stands out in gold.
EFCharts.lineage = function (canvas, tip, rows, opts) {
  const { ctx, width, height } = setup(canvas);
  const nodes = rows.filter((r) => r.status !== "rejected" && r.status !== "duplicate");
  canvas._nodes = [];
  interact(canvas, tip, opts);
  if (!nodes.length) return;
  const byId = new Map(nodes.map((r) => [r.id, r]));
  const kids = new Map();
  const roots = [];
  for (const r of nodes) {
    if (r.parent && byId.has(r.parent)) {
      if (!kids.has(r.parent)) kids.set(r.parent, []);
      kids.get(r.parent).push(r.id);
    } else roots.push(r.id);
  }
  const depth = new Map(), order = [];
  const stack = roots.slice().reverse().map((id) => [id, 0]);
  while (stack.length) {
    const [id, d] = stack.pop();
    depth.set(id, d); order.push(id);
    const c = kids.get(id) || [];
    for (let i = c.length - 1; i >= 0; i--) stack.push([c[i], d + 1]);
  }
  const maxDepth = Math.max(...depth.values(), 1);
  const m = { l: 16, r: 16, t: 12, b: 12 };
  const X = (d) => m.l + (d / maxDepth) * (width - m.l - m.r);
  const pos = new Map();
  order.forEach((id, i) => pos.set(id, [X(depth.get(id)), m.t + ((i + 0.5) / order.length) * (height - m.t - m.b)]));
  // the champions' ancestry
  const golden = new Set();
  for (const c of opts.champions) { let id = c; while (id && byId.has(id) && !golden.has(id)) { golden.add(id); id = byId.get(id).parent; } }
  ctx.lineWidth = 1;
  for (const r of nodes) {
    const p = pos.get(r.parent); if (!p) continue;
    const q = pos.get(r.id);
    const gold = golden.has(r.id);
    ctx.strokeStyle = gold ? "#d97706" : "rgba(107,114,128,0.35)"; ctx.lineWidth = gold ? 2.5 : 1;
    ctx.beginPath(); ctx.moveTo(p[0], p[1]); ctx.lineTo(p[0], q[1]); ctx.lineTo(q[0], q[1]); ctx.stroke();
  }
  const radius = nodes.length > 800 ? 2 : 4;
  for (const r of nodes) {
    const [x, y] = pos.get(r.id);
    ctx.fillStyle = r.status === "failed" ? "#dc2626" : r.status === "succeeded" ? opts.colourOf(r.proposer) : "#9ca3af";
    ctx.beginPath(); ctx.arc(x, y, radius, 0, 2 * Math.PI); ctx.fill();
    if (opts.champions.has(r.id)) {
      ctx.fillStyle = "#f59e0b"; ctx.strokeStyle = "#92400e"; ctx.lineWidth = 1.5;
      ctx.beginPath(); ctx.arc(x, y, r.id === opts.current ? 8 : 6, 0, 2 * Math.PI); ctx.fill(); ctx.stroke();
      ctx.fillStyle = "#111827"; ctx.fillText("#" + r.id, x + 9, y - 6);
    }
    canvas._nodes.push({ x, y, row: r });
  }
};

// Where a candidate is drawn on a chart (for keyboard users and tests alike).
EFCharts.where = function (canvas, id) {
  const n = (canvas._nodes || []).find((k) => k.row.id === id);
  return n ? { x: n.x, y: n.y } : null;
};
