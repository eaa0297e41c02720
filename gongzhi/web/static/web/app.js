// gongzhi: small progressive enhancements. Pages work without this file; it adds the phone menu, the lazy tree
// and the charts (ECharts, served by the app itself).
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var burger = event.target.closest(".hamburger");
    if (burger) { document.body.classList.toggle("nav-open"); return; }
    var toggle = event.target.closest("button.toggle");
    if (toggle) {
      var li = toggle.closest("li");
      var open = li.querySelector(":scope > ul");
      if (open) { open.remove(); toggle.textContent = "+"; toggle.setAttribute("aria-expanded", "false"); return; }
      fetch(toggle.dataset.children, { headers: { "X-Requested-With": "fetch" } })
        .then(function (r) { return r.text(); })
        .then(function (html) {
          li.insertAdjacentHTML("beforeend", html);
          toggle.textContent = "−";
          toggle.setAttribute("aria-expanded", "true");
        });
    }
  });
  // Offline map: a click on the grid map sets the report's longitude and latitude (no tiles, no internet).
  document.addEventListener("click", function (event) {
    var svg = event.target.closest("svg.svgmap[data-pick]");
    if (!svg) return;
    var pt = svg.createSVGPoint();
    pt.x = event.clientX; pt.y = event.clientY;
    var p = pt.matrixTransform(svg.getScreenCTM().inverse());
    var scale = parseFloat(svg.dataset.scale);
    var lng = parseFloat(svg.dataset.minx) + p.x / scale;
    var lat = parseFloat(svg.dataset.maxy) - p.y / scale;
    var form = svg.closest("form");
    form.querySelector("[name=lng]").value = lng.toFixed(6);
    form.querySelector("[name=lat]").value = lat.toFixed(6);
    var dot = svg.querySelector("circle") || document.createElementNS("http://www.w3.org/2000/svg", "circle");
    dot.setAttribute("cx", p.x); dot.setAttribute("cy", p.y); dot.setAttribute("r", 6);
    svg.appendChild(dot);
    var label = form.querySelector(".picked");
    if (label) label.textContent = lng.toFixed(5) + ", " + lat.toFixed(5);
  });
  function drawCharts() {
    if (!window.echarts) return;
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      var option = JSON.parse(document.getElementById(el.dataset.chart).textContent);
      var chart = window.echarts.init(el, null, { renderer: "canvas" });
      chart.setOption(option);
      window.addEventListener("resize", function () { chart.resize(); });
      el.dataset.ready = "1";
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", drawCharts);
  else drawCharts();
})();
