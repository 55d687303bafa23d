/* megapod live dashboard: reads /api/v1, follows the site by Server-Sent Events.
   Everything shown comes from the API; the page keeps bounded buffers so that it does not grow
   while it stays open. Action controls are built only for operators and admins.
   This is the core: state, API calls, sign-in, the live stream, key figures, jobs, events and
   audit. The site map (dashboard-map.js) and the other panels (dashboard-panels.js) come after
   it in the page and share window.megapod with it; they add to it the functions called here. */
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

  // What the page has received, for people debugging it and for the browser tests.
  var STATS = window.megapodDashboard = { updates: 0 };

  /* ---------- the namespace the dashboard's scripts share ---------- */
  var M = window.megapod = {
    MAX_POINTS: MAX_POINTS, S: S, stats: STATS,
    $: $, el: el, api: api, canAct: canAct, fail: fail,
    fmtN: fmtN, fmtP: fmtP, pct: pct, simTime: simTime, shortTime: shortTime,
    loadAudit: loadAudit
  };

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
    s.addEventListener("load", function () { M.scheduleCharts(); });
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
    M.buildPowerForm();
    S.site = site; S.map = map;
    S.nodes = nodes && nodes.designs ? nodes : null;
    S.nodesError = nodes && nodes.error ? nodes.error : "";
    $("site-name").textContent = S.site.name;
    $("site-backend").textContent = S.site.backend;
    M.drawSiteMap();
    onState(S.site.state);
    if (window.performance && performance.mark) performance.mark("megapod-first-render");
    S.mapLive = true;
    loadPlotly();
    M.loadHistory();
    connect();
    loadJobs();
    loadEvents();
    loadAudit();
    S.jobsTimer = setInterval(loadJobs, 2000);
    S.auditTimer = setInterval(loadAudit, 5000);
    M.buildSweepForm();
    M.loadSweeps();
    S.sweepsTimer = setInterval(M.loadSweeps, 3000);
    M.loadFleet();
    S.fleetTimer = setInterval(M.loadFleet, 5000);
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

  function onState(st) {
    if (!st) return;
    STATS.updates += 1;
    S.state = st;
    $("sim-time").textContent = simTime(st.t_s);
    drawTiles(st);
    M.paintSiteMap(st);
    if (S.mapLive) M.loadNodeMap();
    M.drawDevices(st.devices || []);
    M.drawFlow(st);
    M.pushHistory(st);
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

  /* ---------- boot ----------
     The page inlines this script and the others after it in one element at the end of the body,
     so the document is still loading here and boot runs once all of them are in. */
  function boot() {
    bindLogin();
    $("job-state").addEventListener("change", function () { S.jobsKey = ""; loadJobs(); });
    $("job-name").addEventListener("input", function () { S.jobsKey = ""; loadJobs(); });
    window.addEventListener("resize", function () { clearTimeout(S.resizeTimer); S.resizeTimer = setTimeout(M.relayout, 200); });
    if (document.body.getAttribute("data-session") === "none") { showLogin(""); return; }
    // Ask for the caller, the site and its map at once: one round trip before the first render.
    begin(api("/site"), api("/site/map"), api("/session"));
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot); else boot();
})();
