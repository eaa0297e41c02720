// gongzhi: small progressive enhancements. Pages work without this file; it adds the phone menu, the lazy tree
// and the charts (ECharts, served by the app itself).
(function () {
  "use strict";
  // No inline handlers (the Content-Security-Policy forbids them): a select marked data-autosubmit submits its
  // form when changed; a form marked data-confirm asks first.
  document.addEventListener("change", function (event) {
    var field = event.target.closest("[data-autosubmit]");
    if (field && field.form) field.form.requestSubmit ? field.form.requestSubmit() : field.form.submit();
  });
  document.addEventListener("submit", function (event) {
    var form = event.target.closest("form[data-confirm]");
    if (form && !window.confirm(form.dataset.confirm)) event.preventDefault();
  });
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
  // Long selects (more options than a page should carry) get a search box that asks the scoped lookup API.
  function enhanceLookups() {
    document.querySelectorAll("select[data-lookup]").forEach(function (select) {
      if (select.dataset.lookupReady) return;
      select.dataset.lookupReady = "1";
      var box = document.createElement("input");
      box.type = "search";
      box.className = "lookup-search";
      // The page's language decides the two words this script writes itself (the rest comes translated).
      var english = (document.documentElement.lang || "").toLowerCase().indexOf("en") === 0;
      box.placeholder = select.dataset.lookupPlaceholder || (english ? "Type a name to search…" : "输入名称搜索…");
      var label = document.querySelector("label[for='" + select.id + "']");
      box.setAttribute("aria-label", (label ? label.textContent.replace("*", "").trim() + " " : "") +
                       (english ? "search" : "搜索"));
      select.parentNode.insertBefore(box, select);
      var blank = select.querySelector("option[value='']");
      var timer = null;
      box.addEventListener("input", function () {
        clearTimeout(timer);
        timer = setTimeout(function () {
          var url = select.dataset.lookup + (select.dataset.lookup.indexOf("?") < 0 ? "?" : "&") +
            "q=" + encodeURIComponent(box.value.trim());
          fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
            .then(function (r) { return r.ok ? r.json() : []; })
            .then(function (rows) {
              var keep = select.value;
              select.innerHTML = "";
              if (blank) select.appendChild(blank);
              rows.forEach(function (row) {
                var o = document.createElement("option");
                o.value = row.id; o.textContent = row.label;
                select.appendChild(o);
              });
              if (rows.length && !rows.some(function (row) { return String(row.id) === keep; })) {
                select.value = String(rows[0].id);
              } else { select.value = keep; }
              select.dispatchEvent(new Event("change", { bubbles: true }));
            });
        }, 250);
      });
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", enhanceLookups);
  else enhanceLookups();
})();
