// The explorer's chart: read the JSON block the page wrote (no inline script under the CSP)
// and draw it with plotly.js, served by this server from the plotly package.
(function () {
  "use strict";
  function draw() {
    var block = document.getElementById("chart-data");
    var target = document.getElementById("chart");
    if (!block || !target || typeof Plotly === "undefined") { return; }
    var spec = JSON.parse(block.textContent);
    var traces = spec.series.map(function (s) {
      var trace = { name: s.name, x: s.x, y: s.y, text: s.text, hovertemplate: "%{x}<br>%{text}<extra>%{fullData.name}</extra>" };
      if (spec.kind === "bar") { trace.type = "bar"; } else { trace.type = "scatter"; trace.mode = "lines+markers"; }
      return trace;
    });
    var layout = {
      title: spec.title ? { text: spec.title } : undefined,
      yaxis: { title: { text: spec.yTitle || "" }, automargin: true },
      xaxis: { automargin: true, type: "category" },
      legend: { orientation: "h" },
      margin: { t: spec.title ? 48 : 16, r: 16, l: 16, b: 16 },
      font: { family: getComputedStyle(document.body).fontFamily }
    };
    Plotly.newPlot(target, traces, layout, { displayModeBar: false, responsive: true }).then(function () {
      target.setAttribute("data-drawn", String(traces.length));
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();
