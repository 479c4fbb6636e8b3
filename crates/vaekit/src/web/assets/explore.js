// vaekit's latent-space explorer: the map is drawn here, every example,
// decoding and interpolation comes from the server that served the page.
(function () {
  const meta = JSON.parse(document.getElementById("data").textContent);
  const $ = (id) => document.getElementById(id);
  document.title = "vaekit explore";
  $("title").textContent = "vaekit explore";
  $("subtitle").textContent = meta.title;

  const api = async (path, body) => {
    const response = await fetch(path, body === undefined ? {} : {
      method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body),
    });
    const answer = await response.json();
    if (!response.ok) throw new Error(answer.error || response.statusText);
    return answer;
  };
  const showError = (card, error) => {
    card.querySelector(".error")?.remove();
    card.appendChild(el("p", { class: "error", style: "color:#cf222e" }, String(error.message || error)));
  };
  // An image or table rows, as the server rendered them.
  const rendered = (r, alt) => {
    if (r.image) return el("img", { src: r.image, alt, class: "thumb", style: "max-width:100%" });
    if (r.text) {
      return r.text.length === 1 ? el("p", { class: "sentence", style: "font-size:15px;margin:4px 0" }, r.text[0])
        : el("ol", { class: "sentences", style: "font-size:14px;margin:4px 0;padding-left:22px" }, ...r.text.map(t => el("li", {}, t)));
    }
    const head = el("tr", {}, ...r.header.map(h => el("th", {}, h)));
    return el("div", { style: "overflow-x:auto;max-width:540px" },
      el("table", { class: "rows numbers" }, head, ...r.rows.map(row => el("tr", {}, ...row.map(c => el("td", {}, c))))));
  };
  const names = meta.class_names;
  const labelName = (l) => l == null ? "no label" : names && names[l] != null ? names[l] : `class ${l}`;
  if (meta.kind === "text") {
    $("filter").options[0].textContent = "every length";
    document.querySelector("#region p").textContent = "Choose “drag: select a region” and drag over the map: its sentences.";
  }

  let points, view;
  const state = { colour: "label", filter: "", picks: [], path: "linear", example: null, decoded: null };

  // The address keeps the view: colour, filter, zoom, picks, path.
  const saveState = () => {
    const v = view.axes.view;
    const parts = [`c=${state.colour}`, `p=${state.path}`, `v=${[v.x0, v.x1, v.y0, v.y1].map(n => +n.toPrecision(6)).join(",")}`];
    if (state.filter !== "") parts.push(`f=${state.filter}`);
    if (state.picks.length) parts.push(`k=${state.picks.join(",")}`);
    if (state.example != null) parts.push(`i=${state.example}`);
    history.replaceState(null, "", "#" + parts.join("&"));
  };
  const loadState = () => {
    const h = new URLSearchParams(location.hash.slice(1));
    if (h.get("c")) state.colour = h.get("c");
    if (h.get("p")) state.path = h.get("p");
    if (h.get("f") != null) state.filter = h.get("f");
    const v = (h.get("v") || "").split(",").map(Number);
    const picks = (h.get("k") || "").split(",").filter(s => s !== "").map(Number).filter(i => i >= 0 && i < meta.n);
    return { view: v.length === 4 && v.every(isFinite) && v[1] > v[0] && v[3] > v[2] ? v : null, picks, example: h.get("i") };
  };

  // Colours: labels and clusters by the palette; scores by rank on a
  // blue-to-yellow scale.
  const ramp = (t) => {
    const stops = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
    const x = Math.min(0.999, Math.max(0, t)) * (stops.length - 1), i = Math.floor(x), f = x - i;
    const c = stops[i].map((v, k) => Math.round(v + (stops[i + 1][k] - v) * f));
    return `rgb(${c[0]},${c[1]},${c[2]})`;
  };
  const legendCard = el("div", { id: "legend" });
  const colour = () => {
    const key = state.colour;
    let items = [];
    if (key === "label" && points.label) {
      view.colors = points.label.map(classColor);
      items = [...new Set(points.label)].sort((a, b) => a - b).map(l => [labelName(l), classColor(l)]);
    } else if (key === "cluster") {
      view.colors = points.cluster.map(classColor);
      items = [...new Set(points.cluster)].sort((a, b) => a - b).map(c => [`cluster ${c}`, classColor(c)]);
    } else {
      const values = key === "error" ? points.error : points.score;
      const order = values.map((v, i) => [v, i]).sort((a, b) => a[0] - b[0]);
      const colors = new Array(values.length);
      order.forEach(([, i], rank) => { colors[i] = ramp(rank / Math.max(1, values.length - 1)); });
      view.colors = colors;
      const q = (f) => fmt(order[Math.min(order.length - 1, Math.floor(f * (order.length - 1)))][0]);
      items = [[`lowest (${q(0)} nats)`, ramp(0)], [`median (${q(0.5)})`, ramp(0.5)], [`highest (${q(1)})`, ramp(1)]];
    }
    legendCard.replaceChildren(legend(items));
  };
  const filter = () => {
    const f = state.filter;
    view.visible = points.x.map((_, i) => f === "" || !points.label || String(points.label[i]) === f);
  };

  // Marks drawn over the points: the hovered example's posterior, the
  // decoded point, the picks and the interpolation path.
  let hoverEllipse = null, pathPoints = null;
  const overlay = (ctx, a) => {
    if (hoverEllipse) {
      const [cx, cy, rx, ry, angle] = hoverEllipse;
      const X = a.px(cx), Y = a.py(cy);
      const sx = Math.abs(a.px(cx + 1) - X), sy = Math.abs(a.py(cy + 1) - Y);
      ctx.strokeStyle = "#111"; ctx.lineWidth = 1.5; ctx.beginPath();
      for (let t = 0; t <= 64; t++) {
        const u = t / 64 * 2 * Math.PI;
        const ex = rx * Math.cos(u), ey = ry * Math.sin(u);
        const px = X + (ex * Math.cos(angle) - ey * Math.sin(angle)) * sx;
        const py = Y - (ex * Math.sin(angle) + ey * Math.cos(angle)) * sy;
        if (t) ctx.lineTo(px, py); else ctx.moveTo(px, py);
      }
      ctx.stroke();
    }
    if (pathPoints) {
      ctx.strokeStyle = "#cf222e"; ctx.lineWidth = 2; ctx.beginPath();
      pathPoints.forEach(([x, y], k) => { const X = a.px(x), Y = a.py(y); if (k) ctx.lineTo(X, Y); else ctx.moveTo(X, Y); });
      ctx.stroke();
      ctx.fillStyle = "#cf222e";
      for (const [x, y] of pathPoints) { ctx.beginPath(); ctx.arc(a.px(x), a.py(y), 3, 0, 7); ctx.fill(); }
    }
    state.picks.forEach((i, k) => {
      ctx.strokeStyle = k ? "#cf222e" : "#0969da"; ctx.lineWidth = 2.5;
      ctx.beginPath(); ctx.arc(a.px(points.x[i]), a.py(points.y[i]), 7, 0, 7); ctx.stroke();
    });
    if (state.decoded) {
      const X = a.px(state.decoded[0]), Y = a.py(state.decoded[1]);
      ctx.strokeStyle = "#111"; ctx.lineWidth = 2; ctx.beginPath();
      ctx.moveTo(X - 7, Y); ctx.lineTo(X + 7, Y); ctx.moveTo(X, Y - 7); ctx.lineTo(X, Y + 7); ctx.stroke();
    }
  };

  const cache = new Map();
  let shown = -1;
  const showExample = async (i) => {
    if (i === shown) return;
    shown = i;
    try {
      if (!cache.has(i)) cache.set(i, await api(`/api/example?i=${i}`));
      const e = cache.get(i);
      if (shown !== i) return;
      hoverEllipse = e.ellipse;
      view.draw();
      const card = $("hover");
      card.replaceChildren(el("h3", {}, `Example ${i}` + (e.label != null ? `: ${e.label_name || labelName(e.label)}` : "")),
        el("div", { class: meta.kind === "text" ? "" : "grid", style: "gap:10px" },
          el("div", { id: "hover-original" }, el("div", { class: "note" }, "example"), rendered(e.original, "example " + i)),
          el("div", { id: "hover-reconstruction" }, el("div", { class: "note" }, "reconstruction"), rendered(e.reconstruction, "its reconstruction"))),
        el("p", { class: "numbers" }, `-ELBO ${fmt(e.score)} nats, ${meta.second_name} ${fmt(e.error)}, cluster ${e.cluster}, at (${fmt(e.x)}, ${fmt(e.y)})`),
        el("p", { class: "note" }, e.ellipse ? "The ellipse is its posterior, one standard deviation around the mean, projected on the map." : "This map does not project the posterior (t-SNE, or the top layer of a two-layer model)."));
      card.dataset.example = String(i);
    } catch (err) { showError($("hover"), err); }
  };

  const decodeAt = async (x, y) => {
    state.decoded = [x, y];
    view.draw();
    try {
      const d = await api("/api/decode", { x, y });
      const card = $("decoded");
      card.replaceChildren(el("h3", {}, "Decoded point"), rendered(d.decoded, "decoded point"),
        el("p", { class: "numbers" }, `at (${fmt(d.x)}, ${fmt(d.y)})` + (d.class != null ? `, class ${labelName(d.class)}` : "") + `; ${meta.code_name} = [${d.z.slice(0, 6).map(fmt).join(", ")}${d.z.length > 6 ? ", …" : ""}]`));
      card.dataset.decoded = "1";
    } catch (err) { showError($("decoded"), err); }
  };

  const interpolate = async () => {
    if (state.picks.length < 2) { pathPoints = null; return; }
    const [from, to] = state.picks;
    try {
      const r = await api("/api/interpolate", { from, to, path: state.path, steps: 10 });
      pathPoints = r.points;
      view.draw();
      const card = $("interp");
      card.replaceChildren(el("h3", {}, `Interpolation, ${r.path}: example ${from} to ${to}`), rendered(r.decoded, "interpolation"));
      card.dataset.steps = String(r.points.length);
    } catch (err) { showError($("interp"), err); }
  };

  const selectRegion = async (x0, x1, y0, y1) => {
    const inside = [];
    for (let i = 0; i < points.x.length && inside.length < meta.limits.grid; i++) {
      if (view.visible[i] && points.x[i] >= x0 && points.x[i] <= x1 && points.y[i] >= y0 && points.y[i] <= y1) inside.push(i);
    }
    const card = $("region");
    if (!inside.length) { card.replaceChildren(el("h3", {}, "Region"), el("p", {}, "No example lies in that region.")); return; }
    try {
      const r = await api("/api/grid", { indices: inside });
      card.replaceChildren(el("h3", {}, `Region: ${inside.length} examples` + (inside.length === meta.limits.grid ? " (the first)" : "")), rendered(r.decoded, "region"));
      card.dataset.count = String(inside.length);
    } catch (err) { showError(card, err); }
  };

  const start = async () => {
    points = await api("/api/points");
    view = new ScatterView(Math.min(760, window.innerWidth - 420 > 420 ? window.innerWidth - 420 : 620), 560, points.x, points.y, meta.axis_labels);
    view.overlay = overlay;
    $("mapcard").append(view.canvas, legendCard);
    const colours = [["label", meta.kind === "text" ? "length" : "label"], ["score", "anomaly score (-ELBO)"], ["cluster", "k-means cluster"], ["error", meta.second_name]]
      .filter(([k]) => k !== "label" || points.label);
    $("colour").replaceChildren(...colours.map(([k, name]) => el("option", { value: k }, name)));
    if (points.label) {
      const seen = [...new Set(points.label)].sort((a, b) => a - b);
      $("filter").append(...seen.map(l => el("option", { value: String(l) }, labelName(l))));
    } else $("filter").disabled = true;
    const saved = loadState();
    if (!colours.some(([k]) => k === state.colour)) state.colour = colours[0][0];
    $("colour").value = state.colour;
    $("filter").value = state.filter;
    $("path").value = state.path;
    if (saved.view) view.axes.setView({ x0: saved.view[0], x1: saved.view[1], y0: saved.view[2], y1: saved.view[3] });
    colour(); filter(); view.draw();
    state.picks = saved.picks.slice(0, 2);
    if (state.picks.length === 2) interpolate();
    if (saved.example != null && +saved.example < meta.n) showExample(+saved.example);

    $("colour").addEventListener("change", (e) => { state.colour = e.target.value; colour(); view.draw(); saveState(); });
    $("filter").addEventListener("change", (e) => { state.filter = e.target.value; filter(); view.draw(); saveState(); });
    $("path").addEventListener("change", (e) => { state.path = e.target.value; interpolate(); saveState(); });
    $("reset").addEventListener("click", () => { view.reset(); view.draw(); saveState(); });
    $("go").addEventListener("click", () => {
      const i = Math.floor(Number($("find").value));
      if (!(i >= 0 && i < meta.n)) { showError($("hover"), new Error(`give an example from 0 to ${meta.n - 1}`)); return; }
      const v = view.axes.view, w = (v.x1 - v.x0) / 2, h = (v.y1 - v.y0) / 2;
      view.axes.setView({ x0: points.x[i] - w, x1: points.x[i] + w, y0: points.y[i] - h, y1: points.y[i] + h });
      state.example = i; shown = -1; showExample(i); view.draw(); saveState();
    });

    const canvas = view.canvas;
    const local = (e) => { const b = canvas.getBoundingClientRect(); return [e.clientX - b.left, e.clientY - b.top]; };
    let drag = null;
    canvas.addEventListener("wheel", (e) => {
      e.preventDefault();
      const [px, py] = local(e);
      view.zoom(px, py, e.deltaY > 0 ? 1.2 : 1 / 1.2);
      view.draw(); saveState();
    }, { passive: false });
    canvas.addEventListener("mousedown", (e) => { drag = { start: local(e), last: local(e), moved: false }; });
    window.addEventListener("mouseup", (e) => {
      if (!drag) return;
      const [px, py] = local(e);
      const mode = document.querySelector("input[name=mode]:checked").value;
      if (mode === "select" && drag.moved) {
        const a = view.axes, [sx, sy] = drag.start;
        const xs = [a.dataX(sx), a.dataX(px)].sort((p, q) => p - q), ys = [a.dataY(sy), a.dataY(py)].sort((p, q) => p - q);
        view.draw();
        selectRegion(xs[0], xs[1], ys[0], ys[1]);
      } else if (!drag.moved && e.target === canvas) {
        const i = view.nearest(px, py, 5);
        if (i >= 0) {
          state.picks = state.picks.length >= 2 ? [i] : [...state.picks, i];
          if (state.picks.length === 2) interpolate(); else { pathPoints = null; }
        }
        decodeAt(view.axes.dataX(px), view.axes.dataY(py));
      }
      drag = null;
      saveState();
    });
    canvas.addEventListener("mousemove", (e) => {
      const [px, py] = local(e);
      const mode = document.querySelector("input[name=mode]:checked").value;
      if (drag) {
        const [lx, ly] = drag.last;
        if (Math.abs(px - drag.start[0]) + Math.abs(py - drag.start[1]) > 3) drag.moved = true;
        if (mode === "point" && drag.moved) { view.pan(px - lx, py - ly); view.draw(); }
        else if (mode === "select" && drag.moved) {
          view.draw();
          const ctx = view.ctx, [sx, sy] = drag.start;
          ctx.strokeStyle = "#0969da"; ctx.setLineDash([4, 3]); ctx.strokeRect(sx, sy, px - sx, py - sy); ctx.setLineDash([]);
        }
        drag.last = [px, py];
        return;
      }
      const i = view.nearest(px, py, 8);
      if (i >= 0) { state.example = i; showExample(i); }
    });
    // Where point i (or a point of the plane) is on the screen, for
    // scripts that drive the page.
    window.vaekitExplore = {
      pixelOf(i) { return this.pixelAt(points.x[i], points.y[i]); },
      pixelAt(x, y) { const b = canvas.getBoundingClientRect(); return [b.left + view.axes.px(x), b.top + view.axes.py(y)]; },
      n: points.x.length,
    };
    document.body.dataset.ready = "1";
  };
  start().catch((err) => { $("subtitle").textContent = "The map could not be loaded: " + err.message; });
})();
