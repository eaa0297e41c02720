/* 指挥大屏: polls the scoped screen endpoint and updates the figures, the hot spots, the levels chart, the ticker and
 * the map's cases without reloading the page (a wall screen runs for days: no growing state, retries on failure). */
(function () {
  "use strict";
  var root = document.getElementById("screen");
  if (!root) return;
  var seen = null;
  var chart = window.echarts ? echarts.init(document.getElementById("screen-levels"), "dark",
                                            {renderer: "svg"}) : null;

  function text(id, value) { document.getElementById(id).textContent = value; }
  // One decimal is what a wall can show and a room can read.
  function rate(v) { return v === null || v === undefined ? "—" : (Math.round(v * 10) / 10).toFixed(1) + "%"; }

  function render(d) {
    text("kpi-today", d.today.received);
    text("kpi-open", d.open);
    text("kpi-overdue", d.overdue);
    text("kpi-response", rate(d.month.response_rate));
    text("kpi-ontime", rate(d.month.on_time_rate));
    text("kpi-satisfaction", rate(d.month.satisfaction_rate));
    var spots = document.getElementById("screen-hotspots");
    spots.innerHTML = "";
    d.hotspots.forEach(function (h) {
      var li = document.createElement("li");
      li.textContent = h.title + " ";
      var small = document.createElement("small");
      var place = document.createElement("span");
      place.setAttribute("translate", "no");  // a place named in the cases' texts: data, not interface
      place.textContent = h.place;
      small.appendChild(place);
      small.appendChild(document.createTextNode(" · " + h.cases));
      li.appendChild(small);
      spots.appendChild(li);
    });
    var ticker = document.getElementById("screen-ticker");
    ticker.innerHTML = "";
    var ids = {};
    d.ticker.slice(0, 10).forEach(function (c) {  // five rows of two: what the strip holds
      ids[c.id] = true;
      var li = document.createElement("li");
      li.dataset.caseId = c.id;
      if (seen && !seen[c.id]) li.className = "new";
      var time = document.createElement("time");
      time.textContent = c.at;
      li.appendChild(time);
      li.appendChild(document.createTextNode(c.title + (c.place ? " · " + c.place : "") + " · " + c.state));
      ticker.appendChild(li);
    });
    var changed = seen && Object.keys(ids).some(function (id) { return !seen[id]; });
    seen = ids;
    if (chart) {
      chart.setOption({
        backgroundColor: "transparent", textStyle: {fontSize: 16},
        grid: {left: 70, right: 20, top: 10, bottom: 30},
        xAxis: {type: "value", axisLabel: {fontSize: 14}},
        yAxis: {type: "category", data: d.by_level.map(function (l) { return l.level; }), axisLabel: {fontSize: 16}},
        series: [{type: "bar", data: d.by_level.map(function (l) { return l.closed; }),
                  itemStyle: {color: "#3ea0ff"}, label: {show: true, position: "right", fontSize: 14}}]
      });
    }
    if (changed && window.gzScreenMap) window.gzScreenMap.load();
    text("screen-updated", root.dataset.updatedLabel + " " + d.at.slice(11, 19));
  }

  function poll() {
    fetch(root.dataset.url, {credentials: "same-origin", headers: {Accept: "application/json"}})
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(render, function () { text("screen-updated", root.dataset.failedLabel); })
      .then(function () { setTimeout(poll, 1000 * parseFloat(root.dataset.interval || "10")); });
  }

  function clock() {
    var now = new Date();
    text("screen-clock", now.toLocaleDateString("zh-CN") + " " + now.toLocaleTimeString("zh-CN", {hour12: false}));
  }
  clock();
  setInterval(clock, 1000);
  poll();
})();
