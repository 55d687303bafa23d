/* megapod live dashboard, the other panels: the one-line power flow and its operator form, the
   timelines, design sweeps and the fleet tier. Comes after dashboard.js, whose window.megapod it
   uses. */
(function () {
  "use strict";

  var M = window.megapod, S = M.S, $ = M.$, el = M.el, api = M.api, fail = M.fail, canAct = M.canAct;
  var fmtN = M.fmtN, fmtP = M.fmtP, pct = M.pct;
  var MAX_POINTS = M.MAX_POINTS;
  var C = window.megapodCharts;

  /* ---------- one-line power flow ---------- */
  var SVG = "http://www.w3.org/2000/svg";
  function svg(tag, attrs, text) {
    var e = document.createElementNS(SVG, tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function drawFlow(st) {
    var root = $("powerflow");
    if (!root.firstChild) {
      root.className = "mp-flow";
      var s = svg("svg", { viewBox: "0 0 640 300", role: "img", "aria-label": "one-line power flow" });
      s.appendChild(svg("line", { x1: 60, y1: 150, x2: 580, y2: 150, "class": "mp-wire live", id: "flow-bus" }));
      s.appendChild(svg("text", { x: 60, y: 140 }, "site bus"));
      var boxes = [
        ["grid", "grid feed", 20, 20, "flow-wire-grid", 110],
        ["gen", "generators", 230, 20, "flow-wire-gen", 320],
        ["bat", "battery", 440, 20, "flow-wire-bat", 530],
        ["it", "IT load", 110, 200, "flow-wire-it", 200],
        ["cool", "cooling and losses", 380, 200, "flow-wire-cool", 470]
      ];
      boxes.forEach(function (b) {
        var top = b[3] < 150;
        s.appendChild(svg("line", { x1: b[5], y1: top ? b[3] + 80 : 150, x2: b[5], y2: top ? 150 : b[3], "class": "mp-wire", id: b[4] }));
        s.appendChild(svg("rect", { x: b[2], y: b[3], width: 180, height: 80, rx: 8, "class": "mp-box", id: "flow-box-" + b[0] }));
        s.appendChild(svg("text", { x: b[2] + 12, y: b[3] + 24 }, b[1]));
        s.appendChild(svg("text", { x: b[2] + 12, y: b[3] + 48, "class": "mp-flow-value", id: "flow-" + b[0] }, "–"));
        s.appendChild(svg("text", { x: b[2] + 12, y: b[3] + 68, "class": "mp-muted", id: "flow-" + b[0] + "-sub" }, ""));
      });
      root.appendChild(s);
    }
    var bat = st.battery_power_w || 0;
    var gridW = st.grid_power_w !== undefined && st.grid_power_w !== null ? st.grid_power_w
      : (st.blackout ? 0 : st.facility_power_w - Math.max(bat, 0));
    var coolW = st.cooling_power_w !== undefined && st.cooling_power_w !== null ? st.cooling_power_w
      : st.facility_power_w - st.it_power_w;
    setFlow("grid", st.blackout ? "outage" : fmtP(gridW),
      (st.grid_limited ? "limited" : "import") + (st.budget_w ? " · budget " + fmtP(st.budget_w) : ""),
      !st.blackout && gridW > 0, st.blackout || st.grid_limited);
    setFlow("gen", st.generators_on ? "running" : "off", st.generators_on ? "carrying the site" : "standby", st.generators_on, false);
    setFlow("bat", fmtP(Math.abs(bat)), pct(st.battery_soc) + " SoC · " + (bat > 0 ? "discharging" : bat < 0 ? "charging" : "idle"),
      bat !== 0, st.battery_reserve_soc !== undefined && st.battery_soc < st.battery_reserve_soc);
    setFlow("it", fmtP(st.it_power_w), fmtN(st.gpus_busy, "GPUs busy", 0), st.it_power_w > 0, false);
    setFlow("cool", fmtP(coolW), "outdoor " + fmtN(st.outdoor_c, "°C", 1) + " · speed " + pct(st.thermal_speed, 0),
      coolW > 0, st.thermal_speed !== undefined && st.thermal_speed < 1);
  }
  function setFlow(key, value, sub, active, alarm) {
    $("flow-" + key).textContent = value;
    $("flow-" + key + "-sub").textContent = sub;
    $("flow-box-" + key).setAttribute("class", "mp-box" + (alarm ? " alarm" : active ? " active" : ""));
    $("flow-wire-" + key).setAttribute("class", "mp-wire" + (active ? " live" : ""));
  }

  /* Operators set the GPU power cap and the battery reserve; the server answers with what it
     enforces, which the next live update shows. */
  function buildPowerForm() {
    var slot = $("power-actions-slot");
    slot.textContent = "";
    if (!canAct()) return;
    var form = el("form", { "class": "mp-submit", id: "power-actions" });
    var cap = el("label", { "for": "cap-w" }, "GPU cap [W]");
    cap.appendChild(el("input", { id: "cap-w", type: "number", min: "1", step: "1", placeholder: "none" }));
    form.appendChild(cap);
    form.appendChild(el("button", { type: "submit", id: "cap-apply" }, "Set cap"));
    var lift = el("button", { type: "button", id: "cap-lift", "class": "mp-danger" }, "Lift cap");
    form.appendChild(lift);
    var reserve = el("label", { "for": "reserve-pct" }, "battery reserve [%]");
    reserve.appendChild(el("input", { id: "reserve-pct", type: "number", min: "0", max: "100", step: "1" }));
    form.appendChild(reserve);
    var setReserve = el("button", { type: "button", id: "reserve-apply" }, "Set reserve");
    form.appendChild(setReserve);
    var msg = el("span", { "class": "mp-muted", id: "power-msg", role: "status" });
    form.appendChild(msg);
    function send(path, body) {
      api(path, { method: "PUT", body: body }).then(function (p) {
        msg.className = "mp-muted";
        function w(v) { return v ? fmtN(v, "W", 0) : "none"; }
        msg.textContent = "cap requested " + w(p.gpu_cap_w_requested) + ", enforced " + w(p.gpu_cap_w_enforced) +
          "; battery reserve " + pct(p.battery_reserve_soc, 0);
        M.loadAudit();
      }).catch(function (e) { msg.className = "mp-error"; msg.textContent = e.message; });
    }
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var v = Number($("cap-w").value);
      if ($("cap-w").value && isFinite(v) && v > 0) send("/power/cap", { gpu_cap_w: v });
    });
    lift.addEventListener("click", function () { send("/power/cap", { gpu_cap_w: null }); });
    setReserve.addEventListener("click", function () {
      var v = Number($("reserve-pct").value);
      if ($("reserve-pct").value !== "" && isFinite(v)) send("/power/settings", { battery_reserve_soc: v / 100 });
    });
    slot.appendChild(form);
  }

  /* ---------- timelines ---------- */
  function push(arr, v) { arr.push(v); if (arr.length > MAX_POINTS) arr.splice(0, arr.length - MAX_POINTS); }
  function pushHistory(st) {
    var h = S.history;
    var t = st.t_s / 3600;
    if (h.t.length && t <= h.t[h.t.length - 1]) return;
    push(h.t, t);
    push(h.facility, st.facility_power_w / 1e6);
    push(h.it, st.it_power_w / 1e6);
    push(h.pue, st.pue || null);
    push(h.util, st.gpus ? 100 * st.gpus_busy / st.gpus : null);
    push(h.price, st.price_usd_per_mwh === undefined ? null : st.price_usd_per_mwh);
    push(h.carbon, st.carbon_kg_per_mwh === undefined ? null : st.carbon_kg_per_mwh);
    scheduleCharts();
  }
  function loadHistory() {
    api("/telemetry?scope=site&limit=" + MAX_POINTS).then(function (series) {
      var byT = {};
      (series.points || []).forEach(function (p) {
        var row = byT[p.sim_t_s] || (byT[p.sim_t_s] = {});
        row[p.metric] = p.mean;
      });
      var ts = Object.keys(byT).map(Number).sort(function (a, b) { return a - b; });
      var h = S.history;
      var first = h.t.length ? h.t[0] * 3600 : Infinity;
      var old = { t: [], facility: [], it: [], pue: [], util: [], price: [], carbon: [] };
      ts.forEach(function (t) {
        if (t >= first) return;
        var r = byT[t];
        old.t.push(t / 3600);
        old.facility.push(r.facility_power_w === undefined ? null : r.facility_power_w / 1e6);
        old.it.push(r.it_power_w === undefined ? null : r.it_power_w / 1e6);
        old.pue.push(r.facility_power_w && r.it_power_w ? r.facility_power_w / r.it_power_w : null);
        old.util.push(r.gpus_busy !== undefined && S.state && S.state.gpus ? 100 * r.gpus_busy / S.state.gpus : null);
        old.price.push(r.price_usd_per_mwh === undefined ? null : r.price_usd_per_mwh);
        old.carbon.push(r.carbon_kg_per_mwh === undefined ? null : r.carbon_kg_per_mwh);
      });
      Object.keys(old).forEach(function (k) {
        var merged = old[k].concat(h[k]);
        h[k] = merged.slice(Math.max(0, merged.length - MAX_POINTS));
      });
      scheduleCharts();
    }).catch(fail);
  }
  function scheduleCharts() {
    if (S.chartsDue) return;
    S.chartsDue = true;
    setTimeout(function () { S.chartsDue = false; drawCharts(); }, 250);
  }
  var simAxis = { title: "sim time", unit: "h", decimals: 3 };
  function drawCharts() {
    if (!window.Plotly) return;
    var h = S.history;
    C.render($("chart-power"), { kind: "line", title: "Site power", height: 260, x: simAxis,
      y: { title: "power", unit: "MW", decimals: 3, zero: true },
      series: [{ name: "facility", x: h.t, y: h.facility }, { name: "IT", x: h.t, y: h.it }] });
    C.render($("chart-pue"), { kind: "line", title: "PUE", height: 260, x: simAxis,
      y: { title: "PUE", unit: "", decimals: 3 }, series: [{ name: "PUE", x: h.t, y: h.pue }] });
    C.render($("chart-util"), { kind: "line", title: "Utilization", height: 260, x: simAxis,
      y: { title: "GPUs busy", unit: "%", decimals: 1, zero: true }, series: [{ name: "utilization", x: h.t, y: h.util }] });
    var hasPrice = h.price.some(function (v) { return v !== null; });
    C.render($("chart-price"), { kind: "line", title: "Grid price and carbon", height: 260, x: simAxis,
      y: { title: "price", unit: "USD/MWh", decimals: 2 }, y2: { title: "carbon", unit: "kg CO2/MWh", decimals: 1 },
      series: hasPrice ? [{ name: "price", x: h.t, y: h.price }, { name: "carbon", x: h.t, y: h.carbon, axis: "y2" }]
        : [{ name: "price", x: [], y: [] }], empty: hasPrice ? "" : "this server reports no price or carbon" });
  }

  /* ---------- sweeps ---------- */
  function buildSweepForm() {
    var slot = $("sweep-submit-slot");
    slot.textContent = "";
    if (!canAct()) return;   // viewers get no action controls at all
    api("/sweeps/files").then(function (r) {
      if (!r.files.length) { slot.appendChild(el("p", { "class": "mp-muted" }, "this server has no sweep files (--sweeps DIR)")); return; }
      var form = el("form", { "class": "mp-submit", id: "sweep-submit" });
      var sel = el("select", { id: "sweep-file", "aria-label": "sweep file" });
      r.files.forEach(function (f) { sel.appendChild(el("option", { value: f }, f)); });
      var lab = el("label", null, "sweep file "); lab.appendChild(sel); form.appendChild(lab);
      var pts = el("input", { id: "sweep-points", type: "number", min: "1", max: "100000", placeholder: "all" });
      var lab2 = el("label", null, "points "); lab2.appendChild(pts); form.appendChild(lab2);
      form.appendChild(el("button", { type: "submit", id: "sweep-run" }, "Run sweep"));
      var msg = el("span", { id: "sweep-msg", "class": "mp-muted" });
      form.appendChild(msg);
      form.addEventListener("submit", function (ev) {
        ev.preventDefault();
        var body = { file: sel.value };
        if (pts.value) body.max_points = parseInt(pts.value, 10);
        api("/sweeps", { method: "POST", body: body }).then(function (s) {
          msg.className = "mp-muted"; msg.textContent = "queued " + s.id; loadSweeps();
        }).catch(function (e) { msg.className = "mp-error"; msg.textContent = e.message; });
      });
      slot.appendChild(form);
    }).catch(fail);
  }
  function loadSweeps() {
    if (document.hidden || S.sweepsBusy) return;
    S.sweepsBusy = true;
    api("/sweeps").then(drawSweeps).catch(fail).then(function () { S.sweepsBusy = false; });
  }
  function drawSweeps(r) {
    var items = r.items || [];
    var key = JSON.stringify(items.map(function (s) { return [s.id, s.state, s.points_done]; }));
    if (key === S.sweepsKey) return;
    S.sweepsKey = key;
    $("sweeps-empty").hidden = items.length > 0;
    var body = $("sweeps-body");
    body.textContent = "";
    items.forEach(function (s) {
      var tr = el("tr", { "data-sweep": s.id });
      tr.appendChild(el("td", null, s.id));
      tr.appendChild(el("td", null, s.name));
      tr.appendChild(el("td", null, s.file));
      var st = el("td");
      st.appendChild(el("span", { "class": "mp-state " + s.state, title: s.message || "" }, s.state));
      tr.appendChild(st);
      var prog = el("td", { "class": "num" });
      var bar = el("progress", { max: String(Math.max(s.points_total, 1)), value: String(s.points_done) });
      prog.appendChild(bar);
      prog.appendChild(document.createTextNode(" " + fmtN(s.points_done, "", 0) + " / " + (s.points_total ? fmtN(s.points_total, "", 0) : "–")));
      tr.appendChild(prog);
      tr.appendChild(el("td", { "class": "num" }, s.state === "running" && s.eta_s !== null ? fmtN(s.eta_s, "s", 0) : "–"));
      var front = (s.summary && s.summary.pareto_points) || [];
      tr.appendChild(el("td", { "class": "num" }, front.length ? fmtN(front.length, "", 0) : "–"));
      var rep = el("td");
      if (s.report) rep.appendChild(el("a", { href: s.report, target: "_blank", rel: "noopener" }, "open"));
      tr.appendChild(rep);
      body.appendChild(tr);
    });
  }

  /* ---------- fleet ---------- */
  var FLEET_TILES = [
    ["cars in the fleet model", function (f) { return f.model ? fmtN(f.model.vehicles, "", 0) : "–"; }],
    ["cars enrolled / reporting", function (f) { return fmtN(f.vehicles, "", 0) + " / " + fmtN(f.vehicles_reporting, "", 0); }],
    ["replicas in flight", function (f) { return fmtN(f.replicas_in_flight, "", 0); }],
    ["units accepted", function (f) { return fmtN(f.units.accepted || 0, "", 0); }],
    ["revenue", function (f) { return fmtN(f.revenue_usd, "USD", 2); }],
    ["paid to owners", function (f) { return fmtN(f.owners_paid_usd, "USD", 2); }]
  ];
  function loadFleet() {
    if (document.hidden || S.fleetBusy) return;
    S.fleetBusy = true;
    api("/fleet/summary").then(drawFleet).catch(fail).then(function () { S.fleetBusy = false; });
  }
  function drawFleet(f) {
    $("panel-fleet").hidden = !f.enabled;
    if (!f.enabled) return;
    var box = $("fleet-tiles");
    box.textContent = "";
    FLEET_TILES.forEach(function (t) {
      var tile = el("div", { "class": "mp-tile" });
      tile.appendChild(el("div", { "class": "mp-k" }, t[0]));
      tile.appendChild(el("div", { "class": "mp-v" }, t[1](f)));
      box.appendChild(tile);
    });
    var key = JSON.stringify([f.model && f.model.availability_by_hour, f.units]);
    if (key === S.fleetKey || !window.Plotly) return;
    S.fleetKey = key;
    var hours = []; for (var h = 0; h < 24; h++) hours.push(h < 10 ? "0" + h : String(h));
    var share = f.model ? f.model.availability_by_hour.map(function (x) { return 100 * x; }) : [];
    C.render($("chart-fleet-hours"), { kind: "bar", title: "Cars that may compute", height: 240,
      x: { title: "hour of day", unit: "" }, y: { title: "share of cars", unit: "%", decimals: 1, zero: true },
      series: [{ name: "may compute", x: f.model ? hours : [], y: share }],
      empty: f.model ? "" : "the site spec has no fleet: model" });
    var states = Object.keys(f.units).sort();
    C.render($("chart-fleet-units"), { kind: "bar", title: "Work units", height: 240,
      x: { title: "state", unit: "" }, y: { title: "units", unit: "", decimals: 0, zero: true },
      series: [{ name: "units", x: states, y: states.map(function (k) { return f.units[k]; }) }],
      empty: states.length ? "" : "no work units posted yet" });
  }

  M.drawFlow = drawFlow;
  M.buildPowerForm = buildPowerForm;
  M.pushHistory = pushHistory;
  M.loadHistory = loadHistory;
  M.scheduleCharts = scheduleCharts;
  M.buildSweepForm = buildSweepForm;
  M.loadSweeps = loadSweeps;
  M.loadFleet = loadFleet;
})();
