// The explorer's chart: read the JSON block the page wrote (no inline script under the CSP)
// and draw it with plotly.js, served by this server from the plotly package. plotly.js (some
// megabytes) is loaded only once the page is shown, so the table is on screen at once.
(function () {
  "use strict";
  var PLOTLY = "/static/vendor/plotly/plotly.min.js";
  function start() {
    if (!document.getElementById("chart-data")) { return; }
    if (typeof Plotly !== "undefined") { draw(); return; }
    var script = document.createElement("script");
    script.src = PLOTLY;
    script.onload = draw;
    document.head.appendChild(script);
  }
  function draw() {
    var block = document.getElementById("chart-data");
    var target = document.getElementById("chart");
    if (!block || !target || typeof Plotly === "undefined") { return; }
    var spec = JSON.parse(block.textContent);
    var traces = spec.series.map(function (s) {
      var trace = { name: s.name, x: s.x, y: s.y, text: s.text, hovertemplate: "%{text}<extra>%{fullData.name}</extra>" };
      if (spec.kind === "bar") { trace.type = "bar"; trace.textposition = "none"; } else { trace.type = "scatter"; trace.mode = "lines+markers"; }
      return trace;
    });
    var layout = {
      // the unit goes in the title: an axis title collides with the ticks of a right-hand axis
      title: { text: [spec.title, spec.yTitle].filter(Boolean).join(" · ") },
      yaxis: { automargin: true, side: spec.rtl ? "right" : "left" },
      // time runs the way the page reads: right to left in Persian
      xaxis: { automargin: true, type: "category", autorange: spec.rtl && spec.kind === "line" ? "reversed" : true },
      legend: { orientation: "h", y: -0.2 },
      separators: spec.rtl ? "٫٬" : ".,",
      margin: { t: 48, r: 16, l: 16, b: 16 },
      font: { family: getComputedStyle(document.body).fontFamily }
    };
    Plotly.newPlot(target, traces, layout, { displayModeBar: false, responsive: true }).then(function () {
      target.setAttribute("data-drawn", String(traces.length));
    });
  }
  if (document.readyState === "complete") { start(); } else { window.addEventListener("load", start); }
})();
