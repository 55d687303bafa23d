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
    // the node map is asked for with the others; a server without one still shows the rest
    var nodesPromise = api("/site/map/nodes").catch(function (e) {
      if (e.status === 401) throw e;
      return { error: e.message };
    });
    Promise.all([whoPromise, sitePromise, mapPromise, nodesPromise]).then(function (r) {
      start(r[0], r[1], r[2], r[3]);
    }).catch(function (e) {
      showLogin(e.status === 401 || e.status === 403 ? "" : "The server did not answer: " + e.message);
    });
  }

  function start(who, site, map, nodes) {
    S.user = who;
    $("login").hidden = true;
    $("app").hidden = false;
    $("user-name").textContent = who.name || "";
    $("user-role").textContent = who.role;
    document.body.setAttribute("data-role", who.role);
    buildSubmitForm();
    buildPowerForm();
    S.site = site; S.map = map;
    S.nodes = nodes && nodes.designs ? nodes : null;
    S.nodesError = nodes && nodes.error ? nodes.error : "";
    $("site-name").textContent = S.site.name;
    $("site-backend").textContent = S.site.backend;
    drawSiteMap();
    onState(S.site.state);
    if (window.performance && performance.mark) performance.mark("megapod-first-render");
    S.mapLive = true;
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
    S.mapLive = false;
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
    if (S.mapLive) loadNodeMap();
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

  /* ---------- site map: pod designs → pod replicas → racks → nodes, one canvas per design ----------
     Every node is a cell coloured by its state (GET /site/map/nodes: one character a node, in the
     order design → replica → rack → server). A rack is a column of cells, a pod replica a block
     of racks. Cells shrink to 1 px to fit; past that, several nodes share a pixel, which shows
     the most severe state among them. Canvases and their ImageData are made when the map is
     laid out and reused by every update. */
  var STATES = ["running", "capped", "idle", "failed", "down"];
  var CODE_OF = { running: "r", capped: "c", idle: "i", failed: "f", down: "d" };
  var SEVERITY = "ircdf";           // an aggregated pixel shows the last of these among its nodes
  var CELL_MAX_PX = 16, MAP_MAX_HEIGHT_PX = 520;
  var RACK_GAP_PX = 1, LINE_GAP_PX = 2, POD_GAP_PX = 3;
  var LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
  var MAP = { designs: [], lut: new Uint32Array(128), rank: new Uint8Array(128), rankColor: new Uint32Array(SEVERITY.length),
              width: 0, states: "", paints: 0 };

  function rackSizes(row) {          // servers of each rack of one replica, in node order
    var sizes = [];
    (row.racks || []).forEach(function (g) { for (var k = 0; k < g.count; k++) sizes.push(g.servers); });
    return sizes;
  }
  /* Where the cells of a design of `row.nodes` nodes go on a canvas `width` px wide, at most
     `maxHeight` px tall: the largest cell size (CELL_MAX_PX down to 1) that fits, else several
     nodes per pixel. */
  function layoutDesign(row, width, maxHeight) {
    var n = row.nodes, reps = row.replicas || 1, sizes = rackSizes(row);
    var perRep = sizes.reduce(function (a, b) { return a + b; }, 0);
    width = Math.max(1, Math.floor(width));
    var s, L;
    if (sizes.length && perRep * reps === n) {
      var R = sizes.length, H = Math.max.apply(null, sizes), starts = [], acc = 0;
      sizes.forEach(function (z) { starts.push(acc); acc += z; });
      for (s = CELL_MAX_PX; s >= 1; s--) {
        var step = s + RACK_GAP_PX;
        var perLine = Math.min(R, Math.floor((width + RACK_GAP_PX) / step));
        if (perLine < 1) continue;
        var lines = Math.ceil(R / perLine);
        var podW = perLine * step - RACK_GAP_PX, podH = lines * (H * s + LINE_GAP_PX) - LINE_GAP_PX;
        var perRow = Math.min(reps, Math.floor((width + POD_GAP_PX) / (podW + POD_GAP_PX)));
        var rows = Math.ceil(reps / perRow);
        var height = rows * (podH + POD_GAP_PX) - POD_GAP_PX;
        if (height <= maxHeight) {
          return { mode: "racks", s: s, nodes: n, reps: reps, perRep: perRep, sizes: sizes, starts: starts, H: H,
                   perLine: perLine, podW: podW, podH: podH, perRow: perRow,
                   width: perRow * (podW + POD_GAP_PX) - POD_GAP_PX, height: height };
        }
      }
    } else {
      for (s = CELL_MAX_PX; s >= 1; s--) {
        var cols = Math.min(n, Math.floor(width / s)), h = Math.ceil(n / Math.max(cols, 1)) * s;
        if (cols >= 1 && h <= maxHeight) return { mode: "grid", s: s, nodes: n, cols: cols, width: cols * s, height: h };
      }
    }
    var per = Math.ceil(n / (width * maxHeight));
    var pixels = Math.ceil(n / per);
    L = { mode: "aggregate", s: 1, nodes: n, per: per, pixels: pixels, width: Math.min(width, pixels),
          height: Math.ceil(pixels / Math.min(width, pixels)) };
    return L;
  }
  /* Top-left pixel (x, y) of local node k in a cell layout. */
  function cellXY(L, k) {
    if (L.mode === "grid") return [(k % L.cols) * L.s, Math.floor(k / L.cols) * L.s];
    var q = Math.floor(k / L.perRep), w = k - q * L.perRep, j = 0;
    while (j + 1 < L.starts.length && L.starts[j + 1] <= w) j++;
    var x0 = (q % L.perRow) * (L.podW + POD_GAP_PX), y0 = Math.floor(q / L.perRow) * (L.podH + POD_GAP_PX);
    return [x0 + (j % L.perLine) * (L.s + RACK_GAP_PX),
            y0 + Math.floor(j / L.perLine) * (L.H * L.s + LINE_GAP_PX) + (w - L.starts[j]) * L.s];
  }
  /* The node under pixel (x, y): {node, replica, rack, server} (local indices), {from, to} for
     an aggregated pixel, or null over a gap. */
  function nodeAt(L, x, y) {
    x = Math.floor(x); y = Math.floor(y);
    if (x < 0 || y < 0 || x >= L.width || y >= L.height) return null;
    if (L.mode === "aggregate") {
      var p = y * L.width + x;
      if (p >= L.pixels) return null;
      return { from: p * L.per, to: Math.min(L.nodes, (p + 1) * L.per) - 1 };
    }
    if (L.mode === "grid") {
      var k = Math.floor(y / L.s) * L.cols + Math.floor(x / L.s);
      return k < L.nodes ? { node: k, replica: 0, rack: -1, server: k } : null;
    }
    var pw = L.podW + POD_GAP_PX, ph = L.podH + POD_GAP_PX;
    var pc = Math.floor(x / pw), pr = Math.floor(y / ph), xi = x - pc * pw, yi = y - pr * ph;
    var q = pr * L.perRow + pc;
    if (xi >= L.podW || yi >= L.podH || pc >= L.perRow || q >= L.reps) return null;
    var step = L.s + RACK_GAP_PX, col = Math.floor(xi / step);
    if (xi - col * step >= L.s) return null;
    var lineH = L.H * L.s + LINE_GAP_PX, line = Math.floor(yi / lineH), yl = yi - line * lineH;
    var j = line * L.perLine + col;
    if (yl >= L.H * L.s || j >= L.sizes.length) return null;
    var server = Math.floor(yl / L.s);
    if (server >= L.sizes[j]) return null;
    return { node: q * L.perRep + L.starts[j] + server, replica: q, rack: j, server: server };
  }
  function rackName(row, j) {
    var groups = row.racks || [];
    for (var g = 0; g < groups.length; g++) { if (j < groups[g].count) return groups[g].name; j -= groups[g].count; }
    return "";
  }
  function packColor(css) {
    var m = /rgba?\((\d+),\s*(\d+),\s*(\d+)/.exec(css || "") || [0, 128, 128, 128];
    var r = +m[1], g = +m[2], b = +m[3];
    return LITTLE_ENDIAN ? ((255 << 24) | (b << 16) | (g << 8) | r) >>> 0 : ((r << 24) | (g << 16) | (b << 8) | 255) >>> 0;
  }
  function readColors(legend) {      // the legend's own colours, so that cells and legend agree
    STATES.forEach(function (s) {
      var c = packColor(getComputedStyle(legend.querySelector("i.st-" + s)).backgroundColor);
      var code = CODE_OF[s];
      MAP.lut[code.charCodeAt(0)] = c;
      MAP.rank[code.charCodeAt(0)] = SEVERITY.indexOf(code);
      MAP.rankColor[SEVERITY.indexOf(code)] = c;
    });
  }
  function specPod(name) {
    var pods = (S.map && S.map.pods) || [];
    for (var i = 0; i < pods.length; i++) if (pods[i].name === name) return pods[i];
    return null;
  }

  var DESIGN_FIGURES = [
    ["IT", function (r) { return r.it_power_w === null || r.it_power_w === undefined ? null : fmtP(r.it_power_w); }],
    ["facility", function (r) { return r.facility_power_w === null || r.facility_power_w === undefined ? null : fmtP(r.facility_power_w); }],
    ["cooling load", function (r) {
      return r.cooling_load === null || r.cooling_load === undefined ? null
        : pct(r.cooling_load, 0) + " of " + fmtP(r.cooling_capacity_w); }],
    ["thermal speed", function (r) { return r.thermal_speed === null || r.thermal_speed === undefined ? null : pct(r.thermal_speed, 0); }],
    ["coolant supply", function (r) { return r.supply_temp_c === null || r.supply_temp_c === undefined ? null : fmtN(r.supply_temp_c, "°C", 0); }],
    ["hottest device", function (r) { return r.temperature_c === null || r.temperature_c === undefined ? null : fmtN(r.temperature_c, "°C", 0); }],
    ["battery SoC (site)", function (r, m) { return m.battery_soc === null || m.battery_soc === undefined ? null : pct(m.battery_soc, 0); }]
  ];

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
    root.appendChild(el("p", { "class": "mp-muted", id: "map-note" }));
    var tip = el("div", { "class": "mp-tip", id: "map-tip", role: "tooltip" });
    tip.hidden = true;
    root.appendChild(tip);
    readColors(legend);
    MAP.designs = [];
    MAP.states = "";
    var nm = S.nodes && S.nodes.designs ? S.nodes : null;
    var rows = nm ? nm.designs : ((S.map && S.map.pods) || []).map(function (p) { return { name: p.name }; });
    MAP.width = Math.max(120, root.clientWidth || 560);
    rows.forEach(function (row, i) {
      var pod = specPod(row.name);
      var box = el("div", { "class": "mp-design", "data-pod": row.name });
      var head = el("div", { "class": "mp-design-head", role: "button", tabindex: "0" });
      head.appendChild(el("strong", null, pod ? pod.count + " × " + pod.name : row.name));
      var gpus = pod ? pod.gpus : row.gpus, nodes = pod ? pod.nodes : row.nodes;
      head.appendChild(el("span", { "class": "mp-muted" }, fmtN(gpus, "GPUs", 0) + " · " + fmtN(nodes, "nodes", 0)));
      head.addEventListener("click", function () { showNodes(row.name); });
      box.appendChild(head);
      var d = { row: row, index: i, figs: [] };
      if (nm) {
        var figs = el("div", { "class": "mp-design-figs", id: "figs-" + i });
        DESIGN_FIGURES.forEach(function (f) {
          var item = el("span");
          item.appendChild(document.createTextNode(f[0] + " "));
          var v = el("b", null, "–");
          item.appendChild(v);
          figs.appendChild(item);
          d.figs.push([item, v, f[1]]);
        });
        box.appendChild(figs);
        var canvas = el("canvas", { "class": "mp-nodes", id: "nodes-" + i, "data-pod": row.name, "aria-label": "nodes of " + row.name });
        box.appendChild(canvas);
        d.canvas = canvas;
        d.ctx = canvas.getContext("2d");
        layoutCanvas(d);
        bindCanvas(d);
      }
      if (pod) {
        var racks = el("div", { "class": "mp-racks" });
        (pod.racks || []).forEach(function (r) {
          racks.appendChild(el("span", { "class": "mp-rack", title: r.server + ", " + r.servers + " servers per rack" },
            r.count + " × " + r.name + " (" + fmtN(r.gpus, "GPUs", 0) + ")"));
        });
        box.appendChild(racks);
      }
      root.appendChild(box);
      MAP.designs.push(d);
    });
    writeNote();
  }
  function layoutCanvas(d) {
    var L = layoutDesign(d.row, MAP.width, MAP_MAX_HEIGHT_PX);
    d.layout = L;
    d.canvas.width = L.width; d.canvas.height = L.height;
    d.canvas.style.width = L.width + "px"; d.canvas.style.height = L.height + "px";
    d.image = d.ctx.createImageData(L.width, L.height);
    d.px = new Uint32Array(d.image.data.buffer);
    d.offs = null;
    if (L.mode === "grid") {         // each node's top-left pixel, once per layout
      d.offs = new Int32Array(L.nodes);
      for (var k = 0; k < L.nodes; k++) { var xy = cellXY(L, k); d.offs[k] = xy[1] * L.width + xy[0]; }
    } else if (L.mode === "racks") {
      d.offs = new Int32Array(L.nodes);
      for (var q = 0; q < L.reps; q++) {
        var x0 = (q % L.perRow) * (L.podW + POD_GAP_PX), y0 = Math.floor(q / L.perRow) * (L.podH + POD_GAP_PX);
        for (var j = 0; j < L.sizes.length; j++) {
          var x = x0 + (j % L.perLine) * (L.s + RACK_GAP_PX);
          var y = y0 + Math.floor(j / L.perLine) * (L.H * L.s + LINE_GAP_PX);
          var base = q * L.perRep + L.starts[j];
          for (var m = 0; m < L.sizes[j]; m++) d.offs[base + m] = (y + m * L.s) * L.width + x;
        }
      }
    }
    d.tipNode = -2;
  }
  function relayout() {
    var root = $("sitemap");
    var w = Math.max(120, root.clientWidth || 560);
    if (w === MAP.width || !MAP.designs.length || !MAP.designs[0].canvas) return;
    MAP.width = w;
    MAP.designs.forEach(function (d) { if (d.canvas) layoutCanvas(d); });
    MAP.states = "";
    paintNodes();
    writeNote();
  }
  function writeNote() {
    var note = $("map-note");
    if (!note) return;
    if (!S.nodes || !S.nodes.designs) {
      note.textContent = "No node map from this server" + (S.nodesError ? " (" + S.nodesError + ")" : "") + ".";
      return;
    }
    var parts = MAP.designs.map(function (d) {
      var L = d.layout;
      if (L.mode === "aggregate") {
        return d.row.name + ": " + fmtN(L.per, "", 0) + " nodes per pixel, each pixel in the most severe state among them (failed, down, capped, running, idle)";
      }
      return d.row.name + ": one " + L.s + " px cell per node" + (L.mode === "racks" ? ", racks as columns, pod replicas as blocks" : "");
    });
    note.textContent = "Nodes by state (counts in nodes). " + parts.join("; ") + ".";
  }
  function paintNodes() {
    var nm = S.nodes;
    if (!nm || !nm.designs || typeof nm.states !== "string") return;
    var states = nm.states, lut = MAP.lut;
    if (states !== MAP.states) {
      MAP.states = states;
      MAP.designs.forEach(function (d) {
        if (!d.canvas) return;
        var L = d.layout, px = d.px, first = d.row.first_node, k, n = L.nodes;
        if (L.mode === "aggregate") {
          var rank = MAP.rank, colors = MAP.rankColor;
          for (var p = 0; p < L.pixels; p++) {
            var worst = 0, a = first + p * L.per, b = first + Math.min(n, (p + 1) * L.per);
            for (k = a; k < b; k++) { var r = rank[states.charCodeAt(k)]; if (r > worst) worst = r; }
            px[p] = colors[worst];
          }
        } else {
          var s = L.s, W = L.width, offs = d.offs;
          for (k = 0; k < n; k++) {
            var c = lut[states.charCodeAt(first + k)], o = offs[k];
            if (s === 1) { px[o] = c; continue; }
            for (var y = 0; y < s; y++) { var row0 = o + y * W; for (var x = 0; x < s; x++) px[row0 + x] = c; }
          }
        }
        d.ctx.putImageData(d.image, 0, 0);
      });
      MAP.paints += 1;
    }
    MAP.designs.forEach(function (d, i) {
      var row = nm.designs[i];
      if (!row) return;
      d.row = row;
      d.figs.forEach(function (f) {
        var v = f[2](row, nm);
        f[0].hidden = v === null;
        if (v !== null && f[1].textContent !== v) f[1].textContent = v;
      });
    });
  }
  function bindCanvas(d) {
    var tip = $("map-tip");
    d.canvas.addEventListener("mousemove", function (ev) {
      var hit = nodeAt(d.layout, ev.offsetX, ev.offsetY);
      var key = hit ? (hit.node !== undefined ? hit.node : -3 - hit.from) : -1;
      if (key !== d.tipNode) {
        d.tipNode = key;
        if (!hit) { tip.hidden = true; return; }
        tip.textContent = describeHit(d, hit);
      }
      if (!hit) return;
      tip.hidden = false;
      var box = $("sitemap").getBoundingClientRect();
      tip.style.left = (ev.clientX - box.left + 12) + "px";
      tip.style.top = (ev.clientY - box.top + 14) + "px";
    });
    d.canvas.addEventListener("mouseleave", function () { tip.hidden = true; d.tipNode = -2; });
    d.canvas.addEventListener("click", function (ev) {
      var hit = nodeAt(d.layout, ev.offsetX, ev.offsetY);
      if (hit) showNodeAt(d, hit);
    });
  }
  function stateAt(global) {
    var c = S.nodes && S.nodes.states ? S.nodes.states.charAt(global) : "";
    return (S.nodes && S.nodes.codes && S.nodes.codes[c]) || "–";
  }
  function describeHit(d, hit) {
    var first = d.row.first_node;
    if (hit.from !== undefined) {
      var worst = "";
      for (var k = hit.from; k <= hit.to; k++) {
        var c = S.nodes.states.charAt(first + k);
        if (SEVERITY.indexOf(c) > SEVERITY.indexOf(worst)) worst = c;
      }
      return "nodes " + fmtN(first + hit.from, "", 0) + "–" + fmtN(first + hit.to, "", 0) + " · " + (S.nodes.codes[worst] || "–") + " (most severe)";
    }
    var text = "node " + fmtN(first + hit.node, "", 0);
    if (hit.rack >= 0) text += " · pod replica " + hit.replica + " · rack " + hit.rack + " (" + rackName(d.row, hit.rack) + ") · server " + hit.server;
    return text + " · " + stateAt(first + hit.node);
  }
  function nodeTable(title, items, selected) {
    var box = $("node-detail");
    box.textContent = "";
    box.appendChild(el("h3", null, title));
    var t = el("table", { "class": "mp-table" });
    var head = el("tr");
    ["node", "pod replica", "rack", "GPUs", "state"].forEach(function (h) { head.appendChild(el("th", null, h)); });
    t.appendChild(el("thead")).appendChild(head);
    var body = el("tbody");
    items.forEach(function (n) {
      var tr = el("tr", n.index === selected ? { "class": "mp-sel", "data-node": String(n.index) } : { "data-node": String(n.index) });
      tr.appendChild(el("td", { "class": "num" }, String(n.index)));
      tr.appendChild(el("td", { "class": "num" }, n.replica === undefined ? "–" : String(n.replica)));
      tr.appendChild(el("td", null, n.rack || ""));
      tr.appendChild(el("td", { "class": "num" }, String(n.gpus)));
      tr.appendChild(el("td", null, n.state || stateAt(n.index)));
      body.appendChild(tr);
    });
    t.appendChild(body);
    var wrap = el("div", { "class": "mp-table-wrap" });
    wrap.appendChild(t);
    box.appendChild(wrap);
  }
  function showNodes(pod) {
    var box = $("node-detail");
    if (!specPod(pod)) { showLocalNode(pod); return; }
    box.textContent = "loading nodes of " + pod + " …";
    api("/nodes?pod=" + encodeURIComponent(pod) + "&offset=0&limit=100").then(function (r) {
      nodeTable(pod + ": " + fmtN(r.total, "nodes", 0) + (r.total > r.items.length ? " (first " + r.items.length + ")" : ""), r.items, -1);
    }).catch(function (e) { box.textContent = "nodes: " + e.message; });
  }
  /* A clicked cell: the nodes of its rack (the clicked one highlighted), or of its pixel. */
  function showNodeAt(d, hit) {
    var pod = d.row.name, box = $("node-detail");
    if (!specPod(pod)) { showLocalNode(pod); return; }
    var from, count, selected;
    if (hit.from !== undefined) { from = hit.from; count = hit.to - hit.from + 1; selected = -1; }
    else if (hit.rack >= 0) { from = hit.replica * d.layout.perRep + d.layout.starts[hit.rack]; count = d.layout.sizes[hit.rack]; selected = d.row.first_node + hit.node; }
    else { from = hit.node; count = 1; selected = d.row.first_node + hit.node; }
    count = Math.min(count, 100);
    box.textContent = "loading node " + fmtN(d.row.first_node + (hit.node === undefined ? hit.from : hit.node), "", 0) + " …";
    api("/nodes?pod=" + encodeURIComponent(pod) + "&offset=" + from + "&limit=" + count).then(function (r) {
      var title = hit.node === undefined ? pod + ": nodes " + fmtN(d.row.first_node + hit.from, "", 0) + "–" + fmtN(d.row.first_node + hit.to, "", 0)
        : pod + ": node " + fmtN(selected, "", 0) + (hit.rack >= 0 ? " in rack " + hit.rack + " of pod replica " + hit.replica : "");
      nodeTable(title, r.items, selected);
    }).catch(function (e) { box.textContent = "nodes: " + e.message; });
  }
  function showLocalNode(name) {   // a backend's own node (this machine), not a pod of the spec
    var d = MAP.designs.filter(function (x) { return x.row.name === name; })[0];
    if (!d) return;
    nodeTable(name, [{ index: d.row.first_node, replica: 0, rack: "", gpus: d.row.gpus }], d.row.first_node);
  }
  function stateShares(st) {
    var total = st.gpus || 0;
    var failed = st.gpus_failed || 0, down = st.gpus_down || 0, busy = st.gpus_busy || 0;
    var idle = Math.max(0, total - busy - failed - down);
    var capped = st.gpu_cap_w ? busy : 0;
    return { total: total, running: busy - capped, capped: capped, idle: idle, failed: failed, down: down };
  }
  function paintSiteMap(st) {
    var nm = S.nodes, counts;
    if (nm && nm.designs) {
      counts = { running: 0, capped: 0, idle: 0, failed: 0, down: 0 };
      nm.designs.forEach(function (r) { STATES.forEach(function (s) { counts[s] += r["nodes_" + s] || 0; }); });
      paintNodes();
    } else {
      counts = stateShares(st);        // no node map: the site's GPUs by state
    }
    STATES.forEach(function (s) { var b = $("map-count-" + s); if (b) b.textContent = fmtN(counts[s], "", 0); });
  }
  /* Fetched at every live update (one request in flight at most); repainted only on change. */
  function loadNodeMap() {
    if (MAP.busy || document.hidden || !S.nodes || !S.nodes.designs) return;
    MAP.busy = true;
    api("/site/map/nodes").then(function (nm) {
      if (!nm || !nm.designs || nm.designs.length !== MAP.designs.length) return;
      S.nodes = nm;
      if (S.state) paintSiteMap(S.state);
    }).catch(fail).then(function () { MAP.busy = false; });
  }
  // For the browser tests: the layouts, the canvases and what they were painted from.
  STATS.nodeMap = { map: MAP, layoutDesign: layoutDesign, cellXY: cellXY, nodeAt: nodeAt };

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
    window.addEventListener("resize", function () { clearTimeout(S.resizeTimer); S.resizeTimer = setTimeout(relayout, 200); });
    if (document.body.getAttribute("data-session") === "none") { showLogin(""); return; }
    // Ask for the caller, the site and its map at once: one round trip before the first render.
    begin(api("/site"), api("/site/map"), api("/session"));
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot); else boot();
})();
