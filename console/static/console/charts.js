/* Draws every chart of a console page from the JSON spec the page embeds (json_script id
   "console-charts"): one <canvas data-chart="<id>"> per chart. No inline script, no network. */
(function () {
  "use strict";

  function datasetFor(spec, ds) {
    const line = ds.type === "line" || spec.sparkline;
    return {
      type: line ? "line" : "bar",
      label: ds.label,
      data: ds.data,
      backgroundColor: ds.color,
      borderColor: ds.color,
      borderWidth: line ? 2 : 0,
      pointRadius: spec.sparkline ? 0 : 2,
      fill: false,
      tension: 0,
    };
  }

  function draw(canvas, spec) {
    const horizontal = !!spec.horizontal;
    const stacked = !!spec.stacked;
    const axis = { stacked: stacked, beginAtZero: true, display: !spec.sparkline };
    const chart = new window.Chart(canvas, {
      type: "bar",
      data: { labels: spec.labels, datasets: spec.datasets.map(function (ds) { return datasetFor(spec, ds); }) },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        indexAxis: horizontal ? "y" : "x",
        scales: { x: axis, y: Object.assign({}, axis) },
        plugins: {
          legend: { display: !spec.sparkline && spec.datasets.length > 1 },
          title: { display: false },
          tooltip: { enabled: !spec.sparkline },
        },
      },
    });
    canvas.dataset.drawn = String(spec.datasets.reduce(function (n, ds) {
      return n + ds.data.filter(function (v) { return v !== null && v !== 0; }).length;
    }, 0));
    return chart;
  }

  function init() {
    const source = document.getElementById("console-charts");
    if (!source || !window.Chart) { return; }
    const specs = JSON.parse(source.textContent);
    specs.forEach(function (spec) {
      const canvas = document.querySelector('canvas[data-chart="' + spec.id + '"]');
      if (canvas) { draw(canvas, spec); }
    });
    document.body.dataset.chartsReady = "1";
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
