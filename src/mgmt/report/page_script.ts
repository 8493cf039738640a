/**
 * The script the report page runs: it draws each chart of the embedded data
 * (charts.ts) with uPlot, inlined before it, and lists what it drew in
 * `window.vaigaiReport` (each chart's points and lines) for tests and for
 * anyone inspecting the page. Plain browser JavaScript, no imports.
 */
export const PAGE_SCRIPT = String.raw`
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b', '#e377c2'];
  function fmtUs(v) {
    if (v == null) return '-';
    if (v < 1000) return v.toFixed(0) + 'us';
    if (v < 1e6) return (v / 1000).toFixed(v < 1e4 ? 2 : 1) + 'ms';
    return (v / 1e6).toFixed(2) + 's';
  }
  function fmtRate(v) {
    if (v == null) return '-';
    if (v >= 1e6) return (v / 1e6).toFixed(2) + 'M/s';
    if (v >= 1e4) return (v / 1e3).toFixed(1) + 'k/s';
    return v.toFixed(v < 10 ? 1 : 0) + '/s';
  }
  function fmtCount(v) { return v == null ? '-' : String(Math.round(v)); }
  function fmtPct(x) { return Number((100 * (1 - Math.pow(10, -x))).toPrecision(6)) + '%'; }
  var FORMAT = { us: fmtUs, per_s: fmtRate, count: fmtCount };
  // Whole seconds between the time axis' ticks, whole numbers between a count's.
  var SECONDS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600];
  var WHOLE = [];
  for (var d = 1; d <= 1e9; d *= 10) WHOLE.push(d, 2 * d, 5 * d);

  var drawn = [];
  data.charts.forEach(function (c) {
    var el = document.getElementById('chart-' + c.id);
    var fmt = FORMAT[c.unit];
    var pct = c.x === 'percentile';
    var opts = {
      title: c.title,
      width: Math.max(320, el.clientWidth - 8),
      height: 240,
      scales: { x: { time: false } },
      series: [{ label: pct ? 'percentile' : 'second', value: function (u, v) { return v == null ? '-' : pct ? fmtPct(v) : v + ' s'; } }].concat(
        c.lines.map(function (l, i) {
          return { label: l.label, stroke: COLORS[i % COLORS.length], width: 1.5, value: function (u, v) { return fmt(v); } };
        })
      ),
      axes: [
        pct ? { label: 'percentile', splits: function () { return [0, 1, 2, 3, 4, 5]; }, values: function (u, s) { return s.map(fmtPct); } } : { label: 'seconds', incrs: SECONDS },
        c.unit === 'count' ? { size: 70, incrs: WHOLE, values: function (u, s) { return s.map(fmt); } } : { size: 70, values: function (u, s) { return s.map(fmt); } },
      ],
    };
    var plot = new uPlot(opts, [c.xs].concat(c.lines.map(function (l) { return l.values; })), el);
    el.dataset.points = String(plot.data[0].length);
    drawn.push({ id: c.id, points: plot.data[0].length, lines: plot.data.length - 1, plot: plot });
  });
  window.vaigaiReport = { charts: drawn };
  // A narrower or wider window: each chart takes its box's new width.
  window.addEventListener('resize', function () {
    drawn.forEach(function (d) {
      var el = document.getElementById('chart-' + d.id);
      d.plot.setSize({ width: Math.max(320, el.clientWidth - 8), height: 240 });
    });
  });
})();
`;
