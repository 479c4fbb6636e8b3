// vaekit's run report: everything is drawn from the JSON in #data.
(function () {
  const data = JSON.parse(document.getElementById("data").textContent);
  const main = document.getElementById("report");
  const section = (title, ...children) => {
    const s = el("section", { id: title.toLowerCase().replace(/[^a-z]+/g, "-") }, el("h2", {}, title), ...children);
    main.appendChild(s);
    return s;
  };
  const kv = (pairs) => el("table", { class: "kv numbers" },
    ...pairs.filter(([, v]) => v !== undefined).map(([k, v]) => el("tr", {}, el("td", {}, k), el("td", {}, v == null ? "–" : typeof v === "number" ? fmt(v) : String(v)))));
  const show = (v) => Array.isArray(v) ? v.join(", ") : v && typeof v === "object" ? JSON.stringify(v) : v;

  // Settings and data.
  const settings = Object.entries(data.settings || {}).filter(([, v]) => v !== null && v !== undefined);
  const kindText = (k) => k.type === "image" ? `images of ${k.channels} x ${k.height} x ${k.width}` : `a table of ${(k.columns || []).length} columns`;
  const summary = Object.entries(data.data || {})
    .filter(([k, v]) => v !== null && !(Array.isArray(v) && v.length > 30) && k !== "columns" && !k.includes("fingerprint"))
    .map(([k, v]) => k === "kind" && v && typeof v === "object" ? [k, kindText(v)] : [k, v]);
  section("Run",
    el("div", { class: "grid" },
      el("div", {}, el("h3", {}, "Settings"), kv(settings.map(([k, v]) => [k, show(v)]))),
      el("div", {}, el("h3", {}, "Data"), kv(summary.map(([k, v]) => [k, show(v)])))));

  // Evaluation.
  const e = data.eval;
  const evalSection = section("Evaluation", el("p", { class: "note" }, e.note),
    el("div", { class: "grid", id: "eval-grid" }, kv(e.numbers)));
  const grid = evalSection.querySelector("#eval-grid");
  if (e.kl_per_dim.length) {
    barChart(grid, {
      title: "KL per latent dimension", xLabel: "dimension", yLabel: "nats per example",
      labels: e.kl_per_dim.map((_, i) => i), series: [{ name: "KL", values: e.kl_per_dim, color: "#0969da" }],
      note: `A dimension is active when its posterior mean varies over the data (variance > 0.01): ${e.active_units} are.`,
    });
  }
  if (e.by_block && e.by_block.length) {
    barChart(grid, {
      title: "Reconstruction by column", yLabel: "nats per example", rotate: true,
      labels: e.by_block.map(b => b.name), series: [{ name: "-log p(x|z)", values: e.by_block.map(b => b.recon), color: "#8250df" }],
    });
  }

  // Training curves.
  const curves = section("Training");
  const cgrid = el("div", { class: "grid" });
  curves.appendChild(cgrid);
  const per = data.kind === "text" ? "nats per sentence" : "nats per example";
  const charts = [["elbo", "-ELBO", per], ["parts", "Reconstruction", per], ["kl", "KL", per], ["lr", "Learning rate", ""], ["beta", "Beta (the KL's weight)", ""]];
  const colors = ["#0969da", "#cf222e"];
  for (const [chart, title, unit] of charts) {
    const series = data.curves.series.filter(s => s.chart === chart).map((s, k) => ({ ...s, color: colors[k] }));
    if (series.every(s => s.values.every(v => v == null))) continue;
    lineChart(cgrid, { title, x: data.curves.epoch, xLabel: "epoch", yLabel: unit, series, wholeX: true, width: chart === "lr" || chart === "beta" ? 340 : 460, height: chart === "lr" || chart === "beta" ? 200 : 260 });
  }
  if (!data.curves.epoch.length) cgrid.appendChild(el("p", { class: "note" }, "The run has no finished epoch."));

  // Pictures.
  if (data.pictures.length) {
    const pics = section("Samples and reconstructions", el("div", { class: "grid" },
      ...data.pictures.map(p => el("figure", { class: "card" }, el("h3", {}, p.title), el("img", { src: p.uri, alt: p.title }), el("figcaption", {}, p.caption)))));
    pics.id = "pictures";
  }

  // Sentences: samples, reconstructions, a homotopy.
  if (data.texts.length) {
    const cards = data.texts.map(t => el("div", { class: "card", style: "max-width:640px" }, el("h3", {}, t.title),
      t.pairs.length
        ? el("table", { class: "rows" }, el("tr", {}, el("th", {}, "sentence"), el("th", {}, "decoded")),
          ...t.pairs.map(([a, b]) => el("tr", {}, el("td", {}, a), el("td", {}, b))))
        : el("ol", { style: "margin:4px 0;padding-left:22px;font-size:14px" }, ...t.lines.map(l => el("li", {}, l))),
      el("p", {}, t.caption)));
    section("Sentences", el("div", { class: "grid" }, ...cards)).id = "sentences";
  }

  // The latent map.
  const m = data.map;
  if (!m.x.length) {
    section("Latent space", el("p", { class: "note" }, "This model has no latent code to map."));
    window.vaekitReport = { pixelOf() { return [NaN, NaN]; } };
    document.body.dataset.ready = "1";
    return;
  }
  const view = new ScatterView(620, 480, m.x, m.y, m.axis_labels);
  const names = m.class_names;
  const labelName = (l) => l == null ? "" : names && names[l] != null ? names[l] : String(l);
  if (m.labels) view.colors = m.labels.map(classColor);
  view.title = "";
  view.draw();
  const mapTip = tooltip();
  const scale = m.sprite ? Math.max(1, Math.floor(84 / Math.max(m.sprite.width, m.sprite.height))) : 1;
  view.canvas.addEventListener("mousemove", (ev) => {
    const box = view.canvas.getBoundingClientRect();
    const i = view.nearest(ev.clientX - box.left, ev.clientY - box.top, 8);
    if (i < 0) { mapTip.hide(); return; }
    const lines = [`example ${i}` + (m.labels ? `, ${labelName(m.labels[i])}` : "")];
    if (m.texts) lines.push(el("div", { class: "sentence", "data-example": String(i), style: "white-space:normal;max-width:420px;font-size:13px" }, m.texts[i]));
    if (m.sprite) {
      const s = m.sprite, col = i % s.columns, row = Math.floor(i / s.columns);
      const rows = Math.ceil(m.x.length / s.columns);
      lines.push(el("div", {
        class: "thumb", "data-example": String(i),
        style: `width:${s.width * scale}px;height:${s.height * scale}px;background-image:url(${s.uri});` +
          `background-size:${s.columns * s.width * scale}px ${rows * s.height * scale}px;` +
          `background-position:-${col * s.width * scale}px -${row * s.height * scale}px`,
      }));
    }
    mapTip.show(ev, ...lines);
  });
  view.canvas.addEventListener("mouseleave", () => mapTip.hide());
  const mapCard = el("div", { class: "card", id: "map", style: "display:inline-block" }, view.canvas);
  if (m.labels) {
    const seen = [...new Set(m.labels)].sort((a, b) => a - b);
    mapCard.appendChild(legend(seen.map(l => [labelName(l), classColor(l)])));
  }
  mapCard.appendChild(el("p", {}, `${m.title}. Point at a dot to see its example.`));
  section("Latent space", mapCard);

  // Tables: real against synthetic, column by column.
  if (data.histograms.length) {
    const hgrid = el("div", { class: "grid" });
    for (const h of data.histograms) {
      barChart(hgrid, {
        title: h.name, width: 340, height: 210, rotate: !h.numeric, xLabel: h.numeric ? "from" : "",
        labels: h.bins, yLabel: "share of rows",
        series: [{ name: "real", values: h.real, color: "#0969da" }, { name: "synthetic", values: h.synthetic, color: "#fb8500" }],
      });
    }
    section("Columns: real rows against synthetic ones", el("p", { class: "note" }, "Shares of the training rows and of as many rows drawn from the model (numbers in 20 bins over the real rows' range; the most frequent categories)."), hgrid);
  }
  if (data.rows) {
    const r = data.rows;
    const body = [];
    r.original.forEach((row, i) => {
      body.push(el("tr", {}, el("td", {}, `row ${i}`), ...row.map(c => el("td", {}, c))));
      body.push(el("tr", { class: "recon" }, el("td", {}, "reconstruction"), ...r.reconstruction[i].map(c => el("td", {}, c))));
    });
    section("Rows and their reconstructions", el("div", { style: "overflow-x:auto" },
      el("table", { class: "rows numbers" }, el("tr", {}, el("th", {}, ""), ...r.header.map(h => el("th", {}, h))), ...body)));
  }
  // Where map point i is on the screen (for scripts that drive the page).
  window.vaekitReport = {
    pixelOf(i) { const b = view.canvas.getBoundingClientRect(); return [b.left + view.axes.px(m.x[i]), b.top + view.axes.py(m.y[i])]; },
  };
  document.body.dataset.ready = "1";
})();
