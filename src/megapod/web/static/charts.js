/* megapod charts: turns a chart spec (see megapod/web/charts.py) into a plotly chart with the
   house style. Shared by static reports and the live dashboard. Needs plotly.js loaded first. */
(function (global) {
  "use strict";

  var PALETTE = ["#0072b2", "#e69f00", "#009e73", "#d55e00", "#cc79a7", "#56b4e9", "#8a6d00", "#6b7280"];
  var FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif';

  function axisTitle(axis) {
    if (!axis) return "";
    return axis.unit ? axis.title + " [" + axis.unit + "]" : axis.title;
  }

  /* d3-format for hover values: fixed decimals when asked, else 4 significant digits,
     always with thousands separators and never in scientific notation. */
  function numberFormat(axis) {
    if (axis && axis.decimals !== null && axis.decimals !== undefined) return ",." + axis.decimals + "f";
    return ",.4~r";
  }

  function unitSuffix(axis) {
    return axis && axis.unit ? " " + axis.unit : "";
  }

  function rgba(hex, alpha) {
    var n = parseInt(hex.slice(1), 16);
    return "rgba(" + ((n >> 16) & 255) + "," + ((n >> 8) & 255) + "," + (n & 255) + "," + alpha + ")";
  }

  function baseAxis(axis) {
    var out = {
      title: { text: axisTitle(axis), standoff: 8 },
      type: axis && axis.log ? "log" : "-",
      exponentformat: "none",
      separatethousands: true,
      hoverformat: numberFormat(axis),
      automargin: true,
      gridcolor: "#eef0f4",
      zeroline: false,
      showline: true,
      linecolor: "#c9ced8",
      ticks: "outside",
      tickcolor: "#c9ced8"
    };
    if (axis && axis.log) out.tickformat = ",.3~r";
    if (axis && axis.zero) out.rangemode = "tozero";
    return out;
  }

  function traces(spec) {
    var kind = spec.kind || "line";
    var data = [];
    (spec.series || []).forEach(function (s, i) {
      var color = s.color || PALETTE[i % PALETTE.length];
      var yAxis = s.axis === "y2" ? spec.y2 : spec.y;
      var yref = s.axis === "y2" ? "y2" : "y";
      if (kind === "line") {
        if (s.band) {
          data.push({ type: "scatter", mode: "lines", x: s.x, y: s.band[0], yaxis: yref, line: { width: 0 },
                      showlegend: false, hoverinfo: "skip", legendgroup: s.name, name: s.name + " min" });
          data.push({ type: "scatter", mode: "lines", x: s.x, y: s.band[1], yaxis: yref, line: { width: 0 },
                      fill: "tonexty", fillcolor: rgba(color, 0.18), showlegend: false, hoverinfo: "skip",
                      legendgroup: s.name, name: s.name + " max" });
        }
        data.push({
          type: "scatter", mode: "lines", name: s.name, x: s.x, y: s.y, yaxis: yref, legendgroup: s.name,
          line: { color: color, width: 1.4, dash: s.dash ? "dash" : "solid" }, connectgaps: false,
          hovertemplate: s.name + ": %{y:" + numberFormat(yAxis) + "}" + unitSuffix(yAxis) + "<extra></extra>"
        });
      } else if (kind === "scatter") {
        data.push({
          type: "scatter", mode: "markers", name: s.name, x: s.x, y: s.y, yaxis: yref, text: s.text,
          marker: { color: color, size: 8, line: { color: "#ffffff", width: 0.5 } },
          hovertemplate: (s.text ? "%{text}<br>" : "") + axisTitle(spec.x) + ": %{x:" + numberFormat(spec.x) +
            "}<br>" + axisTitle(yAxis) + ": %{y:" + numberFormat(yAxis) + "}<extra>" + s.name + "</extra>"
        });
      } else if (kind === "hbar") {
        data.push({
          type: "bar", orientation: "h", name: s.name, x: s.x, y: s.y, marker: { color: color },
          hovertemplate: "%{y}: %{x:" + numberFormat(spec.x) + "}" + unitSuffix(spec.x) + "<extra>" + s.name + "</extra>"
        });
      } else {
        data.push({
          type: "bar", name: s.name, x: s.x, y: s.y, yaxis: yref, marker: { color: color },
          hovertemplate: "%{x}: %{y:" + numberFormat(yAxis) + "}" + unitSuffix(yAxis) + "<extra>" + s.name + "</extra>"
        });
      }
    });
    return data;
  }

  /* A value axis whose series are flat to within floating-point rounding (values a few ulps
     apart) would get a plotly range ~1e-16 wide, with tick labels placed at Infinity: give it
     a range about the value instead, +-5 % (+-1 about zero). None for other axes. */
  function flatRange(spec, key, axis) {
    if (!axis || axis.zero || axis.log) return null;
    var lo = Infinity, hi = -Infinity;
    (spec.series || []).forEach(function (s) {
      if ((s.axis === "y2") !== (key === "y2")) return;
      [s.y || []].concat(s.band || []).forEach(function (ys) {
        ys.forEach(function (v) {
          if (typeof v === "number" && isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
        });
      });
    });
    if (lo > hi) return null;
    var scale = Math.max(Math.abs(lo), Math.abs(hi));
    if (hi - lo > 1e-9 * scale) return null;
    var pad = scale > 0 ? 0.05 * scale : 1;
    return [(lo + hi) / 2 - pad, (lo + hi) / 2 + pad];
  }

  function layout(spec) {
    var kind = spec.kind || "line";
    var out = {
      height: spec.height || 340,
      margin: { l: 10, r: 10, t: 36, b: 10 },
      font: { family: FONT, size: 12, color: "#1d2330" },
      paper_bgcolor: "#ffffff",
      plot_bgcolor: "#ffffff",
      colorway: PALETTE,
      showlegend: (spec.series || []).length > 1,
      legend: { orientation: "h", x: 0, xanchor: "left", y: 1.0, yanchor: "bottom", bgcolor: "rgba(0,0,0,0)" },
      hovermode: kind === "line" ? "x unified" : "closest",
      hoverlabel: { font: { family: FONT, size: 12 } },
      xaxis: baseAxis(spec.x),
      yaxis: baseAxis(spec.y),
      barmode: spec.stacked ? "stack" : "group",
      uirevision: spec.title
    };
    if (kind === "hbar") {
      out.yaxis.autorange = "reversed";
      out.yaxis.type = "category";
      out.yaxis.title.text = axisTitle(spec.y);
    }
    if (kind === "bar") out.xaxis.type = "category";
    if (spec.y2) {
      out.yaxis2 = baseAxis(spec.y2);
      out.yaxis2.overlaying = "y";
      out.yaxis2.side = "right";
      out.yaxis2.showgrid = false;
      out.yaxis2.tickmode = "auto";
    }
    if (kind === "line" || kind === "scatter") {
      [["y", "yaxis"], ["y2", "yaxis2"]].forEach(function (k) {
        var range = out[k[1]] ? flatRange(spec, k[0], spec[k[0]]) : null;
        if (range) out[k[1]].range = range;
      });
    }
    if (spec.empty) {
      out.annotations = [{ xref: "paper", yref: "paper", x: 0.5, y: 0.5, showarrow: false, text: spec.empty,
                           font: { size: 13, color: "#5a6478" } }];
    }
    if (spec.spans) {
      out.shapes = spec.spans.map(function (span) {
        return { type: "rect", xref: "x", yref: "paper", x0: span[0], x1: span[1], y0: 0, y1: 1,
                 fillcolor: "#eef0f4", line: { width: 0 }, layer: "below" };
      });
      out.annotations = (out.annotations || []).concat(spec.spans.map(function (span) {
        return { xref: "x", yref: "paper", x: out.xaxis.type === "log" ? Math.sqrt(span[0] * span[1]) : (span[0] + span[1]) / 2,
                 y: 1, yanchor: "top", text: span[2], showarrow: false, font: { size: 11, color: "#5a6478" } };
      }));
    }
    return out;
  }

  var CONFIG = {
    responsive: true,
    displaylogo: false,
    scrollZoom: false,
    modeBarButtonsToRemove: ["lasso2d", "select2d"],
    toImageButtonOptions: { format: "png", scale: 2 }
  };

  function figure(spec) {
    return { data: traces(spec), layout: layout(spec), config: CONFIG };
  }

  /* Draw (or redraw in place, keeping the reader's zoom) one chart into element el. */
  function render(el, spec) {
    var fig = figure(spec);
    if (el.data && el.layout) return global.Plotly.react(el, fig.data, fig.layout, fig.config);
    return global.Plotly.newPlot(el, fig.data, fig.layout, fig.config);
  }

  /* Draw every [data-chart=i] element under root from specs[i]. */
  function renderAll(root, specs) {
    var nodes = root.querySelectorAll("[data-chart]");
    Array.prototype.forEach.call(nodes, function (el) {
      var spec = specs[Number(el.getAttribute("data-chart"))];
      if (!spec) return;
      el.style.minHeight = "";
      render(el, spec);
    });
  }

  /* A number for people: thousands separators, no scientific notation, a unit. */
  function formatNumber(value, unit, digits) {
    if (value === null || value === undefined || !isFinite(value)) return "–";
    var d = digits === undefined ? (Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2) : digits;
    var text = Number(value).toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d });
    return unit ? text + " " + unit : text;
  }

  /* Power with a prefix chosen for reading: W, kW, MW or GW. */
  function formatPower(watts) {
    if (watts === null || watts === undefined || !isFinite(watts)) return "–";
    var a = Math.abs(watts);
    if (a >= 1e9) return formatNumber(watts / 1e9, "GW", 2);
    if (a >= 1e6) return formatNumber(watts / 1e6, "MW", 2);
    if (a >= 1e3) return formatNumber(watts / 1e3, "kW", 1);
    return formatNumber(watts, "W", 0);
  }

  global.megapodCharts = {
    PALETTE: PALETTE,
    figure: figure,
    render: render,
    renderAll: renderAll,
    formatNumber: formatNumber,
    formatPower: formatPower
  };
})(window);
