/* megapod live dashboard: reads /api/v1, follows the site by Server-Sent Events.
   Everything shown comes from the API; the page keeps bounded buffers so that it does not grow
   while it stays open. Action controls are built only for operators and admins. */
(function () {
  "use strict";

  var API = "/api/v1";
  var QUERY = new URLSearchParams(window.location.search);
  function param(name, lo, hi, fallback) {
    var v = Number(QUERY.get(name));
    return QUERY.has(name) && isFinite(v) && v >= lo && v <= hi ? v : fallback;
  }
  // Points kept per timeline: ?points=N in the page's address (10 to 5,000), else 600.
  var MAX_POINTS = Math.round(param("points", 10, 5000, 600));
  var MAX_LOG_ROWS = 100;      // rows kept in the event and audit logs
  var WAFFLE_CELLS = 200;      // cells per pod design in the site map
  var JOB_PAGE = 50;
  // Seconds between live updates: ?interval=S (0.1 to 60), else 1.
  var INTERVAL_S = param("interval", 0.1, 60, 1.0);
  var C = window.megapodCharts;

  var S = {
    user: null, site: null, map: null, state: null, source: null,
    history: { t: [], facility: [], it: [], pue: [], util: [], price: [], carbon: [] },
    lastEventId: 0, lastAuditId: 0, jobsTimer: null, auditTimer: null, chartsDue: false,
    selectedJob: null, jobsKey: ""
  };

  function $(id) { return document.getElementById(id); }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    if (attrs) Object.keys(attrs).forEach(function (k) {
      if (k === "class") e.className = attrs[k]; else e.setAttribute(k, attrs[k]);
    });
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }
  function canAct() { return S.user && (S.user.role === "operator" || S.user.role === "admin"); }

  function api(path, options) {
    var opts = Object.assign({ credentials: "same-origin", headers: {} }, options || {});
    if (opts.body && typeof opts.body !== "string") {
      opts.body = JSON.stringify(opts.body);
      opts.headers["Content-Type"] = "application/json";
    }
    return fetch(API + path, opts).then(function (r) {
      if (r.status === 204) return null;
      return r.json().catch(function () { return {}; }).then(function (body) {
        if (!r.ok) {
          var err = new Error((body && body.detail) ? String(typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail)) : r.statusText);
          err.status = r.status;
          throw err;
        }
        return body;
      });
    });
  }

  /* ---------- formatting ---------- */
  var fmtN = C.formatNumber, fmtP = C.formatPower;
  function pct(x, d) { return (x === null || x === undefined || !isFinite(x)) ? "–" : fmtN(x * 100, "%", d === undefined ? 1 : d); }
  function simTime(t) {
    if (t === null || t === undefined) return "–";
    var d = Math.floor(t / 86400), h = Math.floor((t % 86400) / 3600), m = Math.floor((t % 3600) / 60), s = Math.floor(t % 60);
    function two(v) { return (v < 10 ? "0" : "") + v; }
    return (d ? d + " d " : "") + two(h) + ":" + two(m) + ":" + two(s);
  }
  function shortTime(iso) { return iso ? String(iso).replace("T", " ").replace(/\.\d+/, "").replace("Z", "") : ""; }

  /* ---------- login ---------- */
  function showLogin(message) {
    $("app").hidden = true;
    $("login").hidden = false;
    $("login-error").textContent = message || "";
    $("login-token").focus();
  }
  function bindLogin() {
    $("login-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      var token = $("login-token").value.trim();
      if (!token) return;
      $("login-submit").disabled = true;
      api("/session", { method: "POST", body: { token: token } }).then(function (who) {
        $("login-token").value = "";
        begin(api("/site"), api("/site/map"), Promise.resolve(who));
      }).catch(function (e) {
        showLogin(e.status === 401 ? "That token is not valid." : "Sign-in failed: " + e.message);
      }).then(function () { $("login-submit").disabled = false; });
    });
    $("logout").addEventListener("click", function () {
      stop();
      api("/session", { method: "DELETE" }).catch(function () {}).then(function () { showLogin(""); });
    });
  }

  /* ---------- start / stop ---------- */
  /* plotly.js is large: it is fetched after the first render, and the charts drawn when it is in. */
  function loadPlotly() {
    if (window.Plotly || document.getElementById("mp-plotly")) return;
    var s = document.createElement("script");
    s.id = "mp-plotly";
    s.async = true;
    s.src = document.body.getAttribute("data-static") + "/plotly.min.js";
    s.addEventListener("load", function () { scheduleCharts(); });
    document.head.appendChild(s);
  }

  function begin(sitePromise, mapPromise, whoPromise) {
    Promise.all([whoPromise, sitePromise, mapPromise]).then(function (r) {
      start(r[0], r[1], r[2]);
    }).catch(function (e) {
      showLogin(e.status === 401 || e.status === 403 ? "" : "The server did not answer: " + e.message);
    });
  }

  function start(who, site, map) {
    S.user = who;
    $("login").hidden = true;
    $("app").hidden = false;
    $("user-name").textContent = who.name || "";
    $("user-role").textContent = who.role;
    document.body.setAttribute("data-role", who.role);
    buildSubmitForm();
    buildPowerForm();
    S.site = site; S.map = map;
    $("site-name").textContent = S.site.name;
    $("site-backend").textContent = S.site.backend;
    drawSiteMap();
    onState(S.site.state);
    if (window.performance && performance.mark) performance.mark("megapod-first-render");
    loadPlotly();
    loadHistory();
    connect();
    loadJobs();
    loadEvents();
    loadAudit();
    S.jobsTimer = setInterval(loadJobs, 2000);
    S.auditTimer = setInterval(loadAudit, 5000);
    buildSweepForm();
    loadSweeps();
    S.sweepsTimer = setInterval(loadSweeps, 3000);
    loadFleet();
    S.fleetTimer = setInterval(loadFleet, 5000);
  }
  function stop() {
    if (S.source) { S.source.close(); S.source = null; }
    clearInterval(S.jobsTimer); clearInterval(S.auditTimer); clearInterval(S.sweepsTimer); clearInterval(S.fleetTimer);
  }
  function fail(e) {
    if (e && e.status === 401) { stop(); showLogin("Your session has ended; sign in again."); return; }
    if (window.console) console.warn("megapod dashboard:", e && e.message);
  }

  /* ---------- live stream ---------- */
  function connect() {
    if (S.source) S.source.close();
    var src = new EventSource(API + "/stream?interval_s=" + INTERVAL_S);
    S.source = src;
    src.addEventListener("open", function () { live(true); });
    src.addEventListener("state", function (ev) {
      live(true);
      try { onState(JSON.parse(ev.data)); } catch (e) { fail(e); }
    });
    src.addEventListener("error", function () {
      live(false);
      if (src.readyState === EventSource.CLOSED) {
        api("/session").then(function () { setTimeout(connect, 2000); }).catch(fail);
      }
    });
  }
  function live(on) {
    $("live-dot").className = "mp-dot " + (on ? "on" : "off");
    $("live-text").textContent = on ? "live" : "reconnecting";
  }

  // What the page has received, for people debugging it and for the browser tests.
  var STATS = window.megapodDashboard = { updates: 0 };

  function onState(st) {
    if (!st) return;
    STATS.updates += 1;
    S.state = st;
    $("sim-time").textContent = simTime(st.t_s);
    drawTiles(st);
    paintSiteMap(st);
    drawDevices(st.devices || []);
    drawFlow(st);
    pushHistory(st);
    if (st.last_event_id !== undefined && st.last_event_id > S.lastEventId) loadEvents();
  }

  /* ---------- key figures ---------- */
  var TILES = [
    ["facility power", function (s) { return fmtP(s.facility_power_w); }, "tile-facility"],
    ["IT power", function (s) { return fmtP(s.it_power_w); }, "tile-it"],
    ["PUE", function (s) { return s.pue ? fmtN(s.pue, "", 3) : "–"; }, "tile-pue"],
    ["GPUs busy", function (s) { return fmtN(s.gpus_busy, "", 0) + " / " + fmtN(s.gpus, "", 0); }, "tile-gpus"],
    ["utilization", function (s) { return pct(s.gpus ? s.gpus_busy / s.gpus : null); }, "tile-util"],
    ["battery SoC", function (s) { return pct(s.battery_soc); }, "tile-soc"],
    ["jobs running / queued", function (s) { return fmtN(s.jobs_running, "", 0) + " / " + fmtN(s.jobs_queued, "", 0); }, "tile-jobs"],
    ["outdoor", function (s) { return fmtN(s.outdoor_c, "°C", 1); }, "tile-outdoor"],
    ["GPU cap", function (s) { return s.gpu_cap_w ? fmtN(s.gpu_cap_w, "W", 0) : "none"; }, "tile-cap"]
  ];
  function drawTiles(st) {
    var box = $("tiles");
    if (!box.firstChild) {
      TILES.forEach(function (t) {
        var tile = el("div", { "class": "mp-tile" });
        tile.appendChild(el("div", { "class": "mp-k" }, t[0]));
        tile.appendChild(el("div", { "class": "mp-v", id: t[2] }, "–"));
        box.appendChild(tile);
      });
    }
    TILES.forEach(function (t) { $(t[2]).textContent = t[1](st); });
  }

  /* ---------- site map: pod designs, their racks, GPUs by state ---------- */
  var STATES = ["running", "capped", "idle", "failed", "down"];
  function drawSiteMap() {
    var root = $("sitemap");
    root.textContent = "";
    var legend = el("div", { "class": "mp-legend" });
    STATES.forEach(function (s) {
      var item = el("span", { "data-state": s });
      item.appendChild(el("i", { "class": "st-" + s }));
      item.appendChild(document.createTextNode(s + " "));
      item.appendChild(el("b", { id: "map-count-" + s }, "–"));
      legend.appendChild(item);
    });
    root.appendChild(legend);
    var m = S.map || { pods: [] };
    var note = el("p", { "class": "mp-muted", id: "map-note" });
    root.appendChild(note);
    (m.pods || []).forEach(function (pod, i) {
      var box = el("div", { "class": "mp-design", "data-pod": pod.name });
      var head = el("div", { "class": "mp-design-head", role: "button", tabindex: "0" });
      head.appendChild(el("strong", null, pod.count + " × " + pod.name));
      head.appendChild(el("span", { "class": "mp-muted" }, fmtN(pod.gpus, "GPUs", 0) + " · " + fmtN(pod.nodes, "nodes", 0)));
      head.addEventListener("click", function () { showNodes(pod.name); });
      box.appendChild(head);
      var waffle = el("div", { "class": "mp-waffle", id: "waffle-" + i });
      for (var c = 0; c < WAFFLE_CELLS; c++) waffle.appendChild(el("div", { "class": "mp-cell" }));
      box.appendChild(waffle);
      var racks = el("div", { "class": "mp-racks" });
      (pod.racks || []).forEach(function (r) {
        racks.appendChild(el("span", { "class": "mp-rack", title: r.server + ", " + r.servers + " servers per rack" },
          r.count + " × " + r.name + " (" + fmtN(r.gpus, "GPUs", 0) + ")"));
      });
      box.appendChild(racks);
      root.appendChild(box);
    });
  }
  function stateShares(st) {
    var total = st.gpus || 0;
    var failed = st.gpus_failed || 0, down = st.gpus_down || 0, busy = st.gpus_busy || 0;
    var idle = Math.max(0, total - busy - failed - down);
    var capped = st.gpu_cap_w ? busy : 0;
    return { total: total, running: busy - capped, capped: capped, idle: idle, failed: failed, down: down };
  }
  function paintSiteMap(st) {
    var sh = stateShares(st);
    STATES.forEach(function (s) { var b = $("map-count-" + s); if (b) b.textContent = fmtN(sh[s], "", 0); });
    var note = $("map-note");
    if (note) note.textContent = "Each cell is 1/" + WAFFLE_CELLS + " of a design's GPUs, coloured by the site's share of GPUs in each state.";
    var pods = (S.map && S.map.pods) || [];
    // Cells are assigned in state order by the largest-remainder rule, so counts add up exactly.
    var counts = [], acc = 0;
    STATES.forEach(function (s) {
      var exact = sh.total ? sh[s] / sh.total * WAFFLE_CELLS : 0;
      counts.push({ s: s, n: Math.floor(exact), r: exact - Math.floor(exact) });
      acc += Math.floor(exact);
    });
    counts.slice().sort(function (a, b) { return b.r - a.r; }).slice(0, sh.total ? WAFFLE_CELLS - acc : 0)
      .forEach(function (c) { c.n += 1; });
    var classes = [];
    counts.forEach(function (c) { for (var k = 0; k < c.n; k++) classes.push("mp-cell st-" + c.s); });
    for (var i = 0; i < pods.length; i++) {
      var cells = $("waffle-" + i).children;
      for (var j = 0; j < cells.length; j++) {
        var cls = classes[j] || "mp-cell";
        if (cells[j].className !== cls) cells[j].className = cls;
      }
    }
  }
  function showNodes(pod) {
    var box = $("node-detail");
    box.textContent = "loading nodes of " + pod + " …";
    api("/nodes?pod=" + encodeURIComponent(pod) + "&offset=0&limit=100").then(function (r) {
      box.textContent = "";
      box.appendChild(el("h3", null, pod + ": " + fmtN(r.total, "nodes", 0) + (r.total > r.items.length ? " (first " + r.items.length + ")" : "")));
      var t = el("table", { "class": "mp-table" });
      var head = el("tr");
      ["node", "pod replica", "rack", "GPUs"].forEach(function (h) { head.appendChild(el("th", null, h)); });
      t.appendChild(el("thead")).appendChild(head);
      var body = el("tbody");
      r.items.forEach(function (n) {
        var tr = el("tr");
        tr.appendChild(el("td", { "class": "num" }, String(n.index)));
        tr.appendChild(el("td", { "class": "num" }, n.replica === undefined ? "–" : String(n.replica)));
        tr.appendChild(el("td", null, n.rack || ""));
        tr.appendChild(el("td", { "class": "num" }, String(n.gpus)));
        body.appendChild(tr);
      });
      t.appendChild(body);
      var wrap = el("div", { "class": "mp-table-wrap" });
      wrap.appendChild(t);
      box.appendChild(wrap);
    }).catch(function (e) { box.textContent = "nodes: " + e.message; });
  }

  /* On the local backend the state lists this machine's GPUs (or its CPUs): one row each. */
  var DEVICE_COLUMNS = [
    ["device", function (d) { return d.kind + " " + d.index + (d.name ? " · " + d.name : ""); }],
    ["power", function (d) { return d.power_w === null || d.power_w === undefined ? "–" : fmtP(d.power_w); }],
    ["limit", function (d) { return d.power_limit_w ? fmtN(d.power_limit_w, "W", 0) : "–"; }],
    ["temperature", function (d) { return d.temperature_c === null || d.temperature_c === undefined ? "–" : fmtN(d.temperature_c, "°C", 0); }],
    ["utilization", function (d) { return d.utilization === null || d.utilization === undefined ? "–" : pct(d.utilization, 0); }],
    ["clock", function (d) { return d.clock_mhz ? fmtN(d.clock_mhz, "MHz", 0) : "–"; }]
  ];
  function drawDevices(devices) {
    var box = $("devices");
    if (!devices.length) { if (box.firstChild) box.textContent = ""; return; }
    var body = box.querySelector("tbody");
    if (!body) {
      box.appendChild(el("h3", null, "Devices of this machine"));
      var t = el("table", { "class": "mp-table" });
      var head = el("tr");
      DEVICE_COLUMNS.forEach(function (c) { head.appendChild(el("th", null, c[0])); });
      t.appendChild(el("thead")).appendChild(head);
      body = el("tbody");
      t.appendChild(body);
      box.appendChild(t);
    }
    while (body.children.length > devices.length) body.removeChild(body.lastChild);
    devices.forEach(function (d, i) {
      var tr = body.children[i];
      if (!tr) {
        tr = el("tr");
        DEVICE_COLUMNS.forEach(function (_, k) { tr.appendChild(el("td", k ? { "class": "num" } : null)); });
        body.appendChild(tr);
      }
      DEVICE_COLUMNS.forEach(function (c, k) { tr.children[k].textContent = c[1](d); });
    });
  }

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
        loadAudit();
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

  /* ---------- jobs ---------- */
  function buildSubmitForm() {
    var slot = $("job-submit-slot");
    slot.textContent = "";
    if (!canAct()) return;   // viewers get no action controls at all
    var form = el("form", { "class": "mp-submit", id: "job-submit" });
    function field(label, id, type, value, attrs) {
      var l = el("label", { "for": id }, label);
      var i = el("input", Object.assign({ id: id, name: id, type: type, value: value }, attrs || {}));
      l.appendChild(i);
      form.appendChild(l);
    }
    field("name", "submit-name", "text", "", { required: "required", maxlength: "200", placeholder: "train-1" });
    field("GPUs", "submit-gpus", "number", "8", { min: "1", step: "1", required: "required" });
    field("work [h]", "submit-work", "number", "1", { min: "0.001", step: "any", required: "required" });
    form.appendChild(el("button", { type: "submit", id: "submit-job" }, "Submit job"));
    var msg = el("span", { "class": "mp-error", id: "submit-msg", role: "status" });
    form.appendChild(msg);
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var key = (window.crypto && crypto.randomUUID) ? crypto.randomUUID() : String(Date.now()) + "-" + Math.random().toString(16).slice(2);
      var body = { idempotency_key: "web-" + key, name: $("submit-name").value.trim(),
                   gpus: Number($("submit-gpus").value), work_s: Number($("submit-work").value) * 3600 };
      $("submit-job").disabled = true;
      api("/jobs", { method: "POST", body: body }).then(function (job) {
        msg.textContent = "submitted " + job.id;
        msg.className = "mp-muted";
        loadJobs();
        showJob(job.id);
      }).catch(function (e) { msg.textContent = e.message; msg.className = "mp-error"; })
        .then(function () { $("submit-job").disabled = false; });
    });
    slot.appendChild(form);
  }
  function jobQuery() {
    var q = "?offset=0&limit=" + JOB_PAGE;
    var st = $("job-state").value, name = $("job-name").value.trim();
    if (st) q += "&state=" + encodeURIComponent(st);
    if (name) q += "&name=" + encodeURIComponent(name);
    return q;
  }
  function loadJobs() {
    if (document.hidden || S.jobsBusy) return;
    S.jobsBusy = true;
    api("/jobs" + jobQuery()).then(drawJobs).catch(fail).then(function () { S.jobsBusy = false; });
    if (S.selectedJob) refreshJob(S.selectedJob);
  }
  function drawJobs(r) {
    var body = $("jobs-body");
    var items = r.items || [];
    $("job-count").textContent = fmtN(r.total, "jobs", 0) + (r.total > items.length ? " (newest " + items.length + ")" : "");
    var key = JSON.stringify(items.map(function (j) { return [j.id, j.state]; })) + (canAct() ? "1" : "0");
    if (key === S.jobsKey) return;
    S.jobsKey = key;
    body.textContent = "";
    items.forEach(function (j) {
      var tr = el("tr", { "data-job": j.id });
      tr.appendChild(el("td", null, j.id));
      tr.appendChild(el("td", null, j.name));
      var st = el("td");
      st.appendChild(el("span", { "class": "mp-state " + j.state }, j.state));
      tr.appendChild(st);
      tr.appendChild(el("td", { "class": "num" }, fmtN(j.gpus, "", 0)));
      tr.appendChild(el("td", { "class": "num" }, j.work_s === null || j.work_s === undefined ? "–" : fmtN(j.work_s / 3600, "", 2)));
      tr.appendChild(el("td", null, j.submitted_by || ""));
      tr.appendChild(el("td", null, shortTime(j.created_at)));
      var act = el("td");
      if (canAct() && isLive(j.state)) {
        var b = el("button", { type: "button", "class": "mp-danger", "data-cancel": j.id }, "Cancel");
        b.addEventListener("click", function (ev) { ev.stopPropagation(); cancelJob(j.id, b); });
        act.appendChild(b);
      }
      tr.appendChild(act);
      tr.addEventListener("click", function () { showJob(j.id); });
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
  function isLive(state) { return state === "pending" || state === "queued" || state === "running"; }
  function cancelJob(id, button) {
    if (button) button.disabled = true;
    api("/jobs/" + encodeURIComponent(id) + "/cancel", { method: "POST" }).then(function () {
      S.jobsKey = ""; loadJobs(); showJob(id);
    }).catch(function (e) { alertLine("cancel " + id + ": " + e.message); if (button) button.disabled = false; });
  }
  function alertLine(text) { var m = $("submit-msg"); if (m) { m.textContent = text; m.className = "mp-error"; } }
  function showJob(id) { S.selectedJob = id; refreshJob(id); }
  function refreshJob(id) {
    Promise.all([api("/jobs/" + encodeURIComponent(id)), api("/jobs/" + encodeURIComponent(id) + "/logs?offset=0&limit=200").catch(function () { return { items: [] }; })])
      .then(function (r) {
        var j = r[0], logs = r[1];
        var box = $("job-detail");
        box.hidden = false;
        box.textContent = "";
        var head = el("div", { "class": "mp-toolbar" });
        head.appendChild(el("strong", null, j.name + " (" + j.id + ")"));
        head.appendChild(el("span", { "class": "mp-state " + j.state, id: "job-detail-state" }, j.state));
        if (canAct() && isLive(j.state)) {
          var b = el("button", { type: "button", "class": "mp-danger", id: "job-detail-cancel" }, "Cancel job");
          b.addEventListener("click", function () { cancelJob(j.id, b); });
          head.appendChild(b);
        }
        var close = el("button", { type: "button", "class": "mp-link" }, "close");
        close.addEventListener("click", function () { S.selectedJob = null; box.hidden = true; });
        head.appendChild(close);
        box.appendChild(head);
        var dl = el("dl");
        [["GPUs", fmtN(j.gpus, "", 0)], ["work", j.work_s === null ? "–" : fmtN(j.work_s / 3600, "h", 2)],
         ["queue", j.queue || "default"], ["partition", j.partition || "any"], ["priority", String(j.priority)],
         ["submitted by", j.submitted_by || ""], ["created", shortTime(j.created_at)],
         ["started", shortTime(j.started_at) || "–"], ["ended", shortTime(j.ended_at) || "–"],
         ["sim start", j.sim_start_s === null || j.sim_start_s === undefined ? "–" : simTime(j.sim_start_s)],
         ["sim end", j.sim_end_s === null || j.sim_end_s === undefined ? "–" : simTime(j.sim_end_s)],
         ["message", j.message || "–"]].forEach(function (kv) {
          dl.appendChild(el("dt", null, kv[0])); dl.appendChild(el("dd", null, kv[1]));
        });
        box.appendChild(dl);
        if (logs.items && logs.items.length) {
          box.appendChild(el("pre", null, logs.items.map(function (l) { return l.line; }).join("\n")));
        }
      }).catch(function (e) { if (e.status === 404) { S.selectedJob = null; } fail(e); });
  }

  /* ---------- event and audit logs ---------- */
  function trimLog(list) { while (list.children.length > MAX_LOG_ROWS) list.removeChild(list.lastChild); }
  function loadEvents() {
    if (S.eventsBusy) return;
    S.eventsBusy = true;
    var got = 0;
    api("/events?since_id=" + S.lastEventId + "&limit=100").then(function (r) {
      var list = $("events");
      got = (r.items || []).length;
      (r.items || []).forEach(function (e) {
        S.lastEventId = Math.max(S.lastEventId, e.id);
        var li = el("li", { "class": "sev-" + e.severity, "data-kind": e.kind });
        li.appendChild(el("time", null, simTime(e.sim_t_s)));
        li.appendChild(document.createTextNode(e.kind + ": " + e.message));
        list.insertBefore(li, list.firstChild);
      });
      trimLog(list);
    }).catch(fail).then(function () {
      S.eventsBusy = false;
      if (got > 0 && S.state && S.state.last_event_id > S.lastEventId) loadEvents();
    });
  }
  function loadAudit() {
    if (document.hidden || S.auditBusy) return;
    S.auditBusy = true;
    api("/audit?since_id=" + S.lastAuditId + "&limit=100").then(function (r) {
      var list = $("audit");
      (r.items || []).forEach(function (a) {
        S.lastAuditId = Math.max(S.lastAuditId, a.id);
        var li = el("li");
        li.appendChild(el("time", null, shortTime(a.at)));
        li.appendChild(document.createTextNode(a.actor + " (" + a.role + ") " + a.action + (a.target ? " " + a.target : "")));
        list.insertBefore(li, list.firstChild);
      });
      trimLog(list);
    }).catch(fail).then(function () { S.auditBusy = false; });
  }

  /* ---------- boot ---------- */
  function boot() {
    bindLogin();
    $("job-state").addEventListener("change", function () { S.jobsKey = ""; loadJobs(); });
    $("job-name").addEventListener("input", function () { S.jobsKey = ""; loadJobs(); });
    if (document.body.getAttribute("data-session") === "none") { showLogin(""); return; }
    // Ask for the caller, the site and its map at once: one round trip before the first render.
    begin(api("/site"), api("/site/map"), api("/session"));
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot); else boot();
})();
