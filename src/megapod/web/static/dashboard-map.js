/* megapod live dashboard, the site map: pod designs → pod replicas → racks → nodes, one canvas
   per design, with hover, the nodes of a clicked rack and the local backend's devices.
   Every node is a cell coloured by its state (GET /site/map/nodes: one character a node, in the
   order design → replica → rack → server). A rack is a column of cells, a pod replica a block
   of racks. Cells shrink to 1 px to fit; past that, several nodes share a pixel, which shows
   the most severe state among them. Canvases and their ImageData are made when the map is
   laid out and reused by every update. Comes after dashboard.js, whose window.megapod it uses. */
(function () {
  "use strict";

  var M = window.megapod, S = M.S, $ = M.$, el = M.el, api = M.api, fail = M.fail;
  var fmtN = M.fmtN, fmtP = M.fmtP, pct = M.pct;

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
  M.stats.nodeMap = { map: MAP, layoutDesign: layoutDesign, cellXY: cellXY, nodeAt: nodeAt };

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

  M.drawSiteMap = drawSiteMap;
  M.paintSiteMap = paintSiteMap;
  M.loadNodeMap = loadNodeMap;
  M.relayout = relayout;
  M.drawDevices = drawDevices;
})();
