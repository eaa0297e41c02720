/* The one map component (一张图), on Leaflet served by the app (no CDN, no online base map: intranets are offline).
 *
 * Every map of the platform is an element with data-map="…":
 *   city    the city map: the area level that fits the zoom (with names), cases as markers or counted cells, a heat
 *           layer, service sites with their walking reach, areas coloured by a figure, a card on click;
 *   pick    the resident's report: a pin to drag or "my location", the grid, compound and building found from it;
 *   point   one case's point on its grid (the case page);
 *   area    an area and the level below it (the area page);
 *   screen  the 大屏's map (dark, no controls; the screen script refreshes it).
 * Options come from data- attributes; everything else from the scoped JSON API under /api/v1/map/.
 * An optional base layer comes from the city's own tile server (data-tiles, set by GONGZHI_MAP_TILES).
 */
(function () {
  "use strict";
  if (!window.L) return;

  var API = "/api/v1/map/";
  var RATE_COLOURS = ["#d73027", "#fc8d59", "#fee08b", "#91cf60", "#1a9850"]; // worst → best
  // The pin is drawn by CSS (maps/map.css), not Leaflet's default image: nothing to find under a hashed name.
  var PIN = L.divIcon({className: "gz-pin", iconSize: [30, 42], iconAnchor: [15, 42], popupAnchor: [0, -40],
                       html: "<span></span>"});
  var KIND_STYLE = {
    city: {weight: 3}, district: {weight: 3}, street: {weight: 2.5}, community: {weight: 2},
    grid: {weight: 1.5}, compound: {weight: 1.5, dashArray: "4 3"}, building: {weight: 1}
  };

  function getJSON(url) {
    return fetch(url, {credentials: "same-origin", headers: {Accept: "application/json"}}).then(function (r) {
      return r.json().then(function (body) { return r.ok ? body : Promise.reject(body); });
    });
  }

  function query(params) {
    var parts = [];
    Object.keys(params).forEach(function (k) {
      if (params[k] !== "" && params[k] !== null && params[k] !== undefined) {
        parts.push(encodeURIComponent(k) + "=" + encodeURIComponent(params[k]));
      }
    });
    return parts.join("&");
  }

  function debounce(fn, ms) {
    var t = null;
    return function () { clearTimeout(t); t = setTimeout(fn, ms); };
  }

  function escapeHtml(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  }

  function rateColour(value, lowIsGood) {
    if (value === null || value === undefined) return "#bdbdbd";
    var v = lowIsGood ? Math.max(0, 100 - value) : value;
    var i = v >= 95 ? 4 : v >= 90 ? 3 : v >= 80 ? 2 : v >= 60 ? 1 : 0;
    return RATE_COLOURS[i];
  }

  function GZMap(el) {
    var self = this;
    this.el = el;
    this.mode = el.dataset.map;
    this.dark = this.mode === "screen";
    this.listeners = [];
    el._gzmap = this;  // pages and tests reach the component through its element
    // No base tiles to set the zoom range, so the map sets it (the cluster layer needs a maximum).
    var map = this.map = L.map(el, {attributionControl: false, zoomSnap: 0.5, minZoom: 4, maxZoom: 20,
                                    zoomControl: this.mode !== "screen"});
    if (el.dataset.tiles) L.tileLayer(el.dataset.tiles, {maxZoom: 20}).addTo(map);
    var bounds = el.dataset.bounds ? JSON.parse(el.dataset.bounds) : null;
    if (bounds) map.fitBounds(bounds, {padding: [8, 8]});
    else map.setView([parseFloat(el.dataset.lat || "39.9"), parseFloat(el.dataset.lng || "116.4")], 14);
    this.areas = L.geoJSON(null, {style: function (f) { return self.areaStyle(f); },
                                  onEachFeature: function (f, layer) { self.bindArea(f, layer); }}).addTo(map);
    this.figure = el.dataset.figure || "";
    this.filters = {state: el.dataset.state || "open", category: "", start: "", end: ""};
    this.casesOn = this.mode === "city" || this.mode === "screen";
    this.heatOn = false;
    this.sitesOn = false;
    this.caseLayer = L.layerGroup().addTo(map);
    this.siteLayer = L.layerGroup().addTo(map);
    this.heatLayer = null;
    this.refresh = debounce(function () { self.load(); }, 150);
    map.on("moveend", this.refresh);
  }

  GZMap.prototype.on = function (fn) { this.listeners.push(fn); };
  GZMap.prototype.emit = function (what, data) {
    this.listeners.forEach(function (fn) { fn(what, data); });
    this.el.dispatchEvent(new CustomEvent("gzmap:" + what, {detail: data, bubbles: true}));
  };

  GZMap.prototype.box = function () {
    return {bbox: this.map.getBounds().toBBoxString(), width: Math.round(this.el.clientWidth || 800)};
  };

  GZMap.prototype.areaStyle = function (f) {
    var base = KIND_STYLE[f.properties.kind] || {weight: 1.5};
    var value = f.properties.value;
    var filled = this.figure && value !== undefined;
    return {
      color: this.dark ? "#6fb6ff" : "#c0392b", weight: base.weight, dashArray: base.dashArray || null,
      fillColor: filled ? rateColour(value, this.figure === "per_1000") : (this.dark ? "#0b3d6b" : "#f5b7a8"),
      fillOpacity: filled ? 0.55 : (this.dark ? 0.25 : 0.08)
    };
  };

  GZMap.prototype.bindArea = function (f, layer) {
    var self = this;
    var p = f.properties;
    var label = p.name + (p.value !== undefined && p.value !== null ? " " + p.value : "");
    if (this.labelAreas) layer.bindTooltip(escapeHtml(label), {permanent: true, direction: "center",
                                                               className: "map-label"});
    if (this.mode === "city") layer.on("click", function () { self.showCard(p.id); });
  };

  GZMap.prototype.load = function () {
    var self = this;
    var box = this.box();
    var params = {bbox: box.bbox, width: box.width};
    if (this.figure) { params.figure = this.figure; params.start = this.filters.start; params.end = this.filters.end; }
    this.emit("loading", true);
    var jobs = [getJSON(API + "areas?" + query(params)).then(function (data) {
      self.areas.clearLayers();
      self.labelAreas = data.features.length <= 150;
      self.areas.addData(data);
      self.areas.bringToBack();
      self.emit("areas", data);
    })];
    if (this.casesOn) jobs.push(this.loadCases(box));
    if (this.sitesOn) jobs.push(this.loadSites(box));
    return Promise.all(jobs).then(function () { self.emit("loading", false); }, function (err) {
      self.emit("error", err);
    });
  };

  GZMap.prototype.loadCases = function (box) {
    var self = this;
    var params = {bbox: box.bbox, width: box.width, state: this.filters.state, category: this.filters.category,
                  start: this.filters.start, end: this.filters.end};
    return getJSON(API + "cases?" + query(params)).then(function (data) {
      self.caseLayer.clearLayers();
      var heat = [];
      if (data.mode === "cells") {
        data.cells.forEach(function (c) {
          heat.push([c.lat, c.lng, c.n]);
          var size = Math.max(26, Math.min(64, 18 + 8 * Math.log(1 + c.n)));
          var icon = L.divIcon({className: "map-cell" + (c.overdue ? " late" : ""), iconSize: [size, size],
                                html: "<span>" + c.n + "</span>"});
          var m = L.marker([c.lat, c.lng], {icon: icon, keyboard: false,
                                            title: c.n + (c.overdue ? "（" + c.overdue + "）" : "")});
          m.on("click", function () { self.map.setView([c.lat, c.lng], self.map.getZoom() + 2); });
          self.caseLayer.addLayer(m);
        });
      } else {
        var group = L.markerClusterGroup ? L.markerClusterGroup({maxClusterRadius: 40, showCoverageOnHover: false,
                                                                     disableClusteringAtZoom: 18})
          : L.layerGroup();
        data.markers.forEach(function (c) {
          heat.push([c.lat, c.lng, 1]);
          var colour = c.overdue ? "#c0392b" : c.state === "closed" ? "#1a9850" : "#e67e22";
          var m = L.circleMarker([c.lat, c.lng], {radius: 7, color: "#fff", weight: 1.5, fillColor: colour,
                                                  fillOpacity: 0.95, className: "case-marker"});
          m.bindPopup("<strong>" + escapeHtml(c.number) + "</strong><br>" + escapeHtml(c.title) + "<br>" +
                      escapeHtml(c.category) + " · " + escapeHtml(c.state_label) +
                      (c.overdue ? " · <span class=\"late\">" + escapeHtml(self.el.dataset.lateLabel || "超期") +
                       "</span>" : "") +
                      "<br><a class=\"open-case\" href=\"/cases/" + c.id + "/\">" +
                      escapeHtml(self.el.dataset.openLabel || "查看") + "</a>");
          group.addLayer(m);
        });
        self.caseLayer.addLayer(group);
      }
      if (self.heatLayer) { self.map.removeLayer(self.heatLayer); self.heatLayer = null; }
      if (self.heatOn && L.heatLayer && heat.length) {
        var max = heat.reduce(function (a, h) { return Math.max(a, h[2]); }, 1);
        self.heatLayer = L.heatLayer(heat, {radius: 28, blur: 20, max: max}).addTo(self.map);
      }
      self.emit("cases", data);
    });
  };

  GZMap.prototype.loadSites = function (box) {
    var self = this;
    return getJSON(API + "sites?" + query({bbox: box.bbox, width: box.width})).then(function (data) {
      self.siteLayer.clearLayers();
      data.sites.forEach(function (s) {
        if (s.lat === null || s.lng === null) return;
        L.circle([s.lat, s.lng], {radius: data.reach_m, color: "#2e86c1", weight: 1, dashArray: "3 4",
                                  fillOpacity: 0.06, interactive: false}).addTo(self.siteLayer);
        L.circleMarker([s.lat, s.lng], {radius: 6, color: "#fff", weight: 1.5, fillColor: "#2e86c1",
                                        fillOpacity: 1}).bindPopup(
          "<strong>" + escapeHtml(s.name) + "</strong><br>" + escapeHtml(s.kind_label) + "<br>" +
          escapeHtml(s.address) + "<br>" + escapeHtml(s.hours)).addTo(self.siteLayer);
      });
      self.emit("sites", data);
    });
  };

  GZMap.prototype.showCard = function (areaId) {
    var self = this;
    getJSON(API + "areas/" + areaId + "/card").then(function (card) { self.emit("card", card); },
                                                    function (err) { self.emit("error", err); });
  };

  /* ---- the resident's pin (data-map="pick") */
  GZMap.prototype.enablePick = function (onPlace) {
    var self = this;
    var start = this.map.getCenter();
    var marker = this.pin = L.marker(start, {draggable: true, autoPan: true, icon: PIN, keyboard: true,
                                             title: this.el.dataset.pinLabel || "拖动到问题位置"}).addTo(this.map);
    function place(latlng) {
      marker.setLatLng(latlng);
      getJSON(API + "locate?" + query({lng: latlng.lng.toFixed(6), lat: latlng.lat.toFixed(6)})).then(
        function (found) { onPlace(latlng, found); }, function (err) { onPlace(latlng, null, err); });
    }
    marker.on("dragend", function () { place(marker.getLatLng()); });
    this.map.on("click", function (e) { place(e.latlng); });
    this.place = place;
    return marker;
  };

  GZMap.prototype.locateMe = function (onError) {
    var self = this;
    if (!navigator.geolocation) { onError(); return; }
    navigator.geolocation.getCurrentPosition(function (pos) {
      var latlng = L.latLng(pos.coords.latitude, pos.coords.longitude);
      self.map.setView(latlng, Math.max(self.map.getZoom(), 17));
      self.place(latlng);
    }, onError, {enableHighAccuracy: true, timeout: 10000, maximumAge: 60000});
  };

  window.GZMap = GZMap;

  /* ---- wiring for the pages */
  function mountPick(el) {
    var m = new GZMap(el);
    m.load();
    var form = el.closest("form");
    var lng = form.querySelector("[name=lng]");
    var lat = form.querySelector("[name=lat]");
    var area = form.querySelector("[name=area]");
    var out = document.getElementById(el.dataset.found);
    function choose(id, name) {
      if (!area) return;
      if (!area.querySelector("option[value='" + id + "']")) {
        var o = document.createElement("option");
        o.value = id; o.textContent = name; area.appendChild(o);
      }
      area.value = String(id);
      area.dispatchEvent(new Event("change", {bubbles: true}));
    }
    m.enablePick(function (latlng, found, err) {
      lng.value = latlng.lng.toFixed(6);
      lat.value = latlng.lat.toFixed(6);
      if (!out) return;
      out.innerHTML = "";
      if (!found) {
        out.textContent = (err && err.error && err.error.message) || el.dataset.outsideLabel || "";
        return;
      }
      var where = [found.street, found.community, found.grid, found.compound].filter(Boolean)
        .map(function (a) { return a.name; }).join(" · ");
      var p = document.createElement("p");
      p.className = "found-place";
      p.textContent = where;
      out.appendChild(p);
      var target = found.building || found.compound || found.grid;
      if (target) choose(target.id, where + (found.building ? " · " + found.building.name : ""));
      if (found.buildings.length) {
        var label = document.createElement("p");
        label.className = "help";
        label.textContent = el.dataset.buildingLabel || "";
        out.appendChild(label);
        var list = document.createElement("div");
        list.className = "chips building-chips";
        found.buildings.forEach(function (b) {
          var btn = document.createElement("button");
          btn.type = "button";
          btn.className = "chip" + (found.building && found.building.id === b.id ? " on" : "");
          btn.textContent = b.name;
          btn.dataset.areaId = b.id;
          btn.addEventListener("click", function () {
            list.querySelectorAll(".chip").forEach(function (c) { c.classList.remove("on"); });
            btn.classList.add("on");
            choose(b.id, where + " · " + b.name);
          });
          list.appendChild(btn);
        });
        out.appendChild(list);
      }
    });
    var gps = document.getElementById(el.dataset.gps);
    if (gps) gps.addEventListener("click", function () {
      m.locateMe(function () { if (out) out.textContent = el.dataset.gpsFailedLabel || ""; });
    });
    if (lng.value && lat.value) m.place(L.latLng(parseFloat(lat.value), parseFloat(lng.value)));
  }

  function mountPoint(el) {
    var m = new GZMap(el);
    var latlng = L.latLng(parseFloat(el.dataset.lat), parseFloat(el.dataset.lng));
    L.marker(latlng, {title: el.dataset.pinLabel || "", icon: PIN}).addTo(m.map);
    m.map.setView(latlng, 17);
    m.load();
  }

  function mountCity(el) {
    var m = new GZMap(el);
    var form = document.getElementById(el.dataset.filters);
    var card = document.getElementById(el.dataset.card);
    var status = document.getElementById(el.dataset.status);
    function readForm() {
      if (!form) return;
      var data = new FormData(form);
      m.filters = {state: data.get("state") || "open", category: data.get("category") || "",
                   start: data.get("start") || "", end: data.get("end") || ""};
      m.figure = data.get("figure") || "";
      m.heatOn = !!data.get("heat");
      m.sitesOn = !!data.get("sites");
      if (!m.sitesOn) m.siteLayer.clearLayers();
    }
    if (form) {
      form.addEventListener("change", function () { readForm(); m.load(); });
      form.addEventListener("submit", function (e) { e.preventDefault(); readForm(); m.load(); });
      readForm();
    }
    m.on(function (what, data) {
      if (what === "cases" && status) {
        status.textContent = (el.dataset.totalLabel || "") + data.total;
        status.dataset.mode = data.mode;
      }
      if (what === "areas" && status) status.dataset.kind = data.kind || "";
      if (what === "areas") showLegend(data);
      if (what === "error" && status) status.textContent = (data && data.error && data.error.message) || "";
      if (what === "card" && card) renderCard(card, data, el.dataset);
    });
    var legend = L.control({position: "bottomright"});
    legend.onAdd = function () { var d = L.DomUtil.create("div", "map-legend"); d.id = "map-legend"; return d; };
    function showLegend(data) {
      if (!data.figure) { if (legend._map) legend.remove(); return; }
      if (!legend._map) legend.addTo(m.map);
      var lowIsGood = data.figure === "per_1000";
      var steps = lowIsGood ? [[0, "≤ 5"], [8, "5–10"], [15, "10–20"], [30, "20–40"], [50, "> 40"]]
        : [[99, "≥ 95%"], [92, "90–95%"], [85, "80–90%"], [70, "60–80%"], [10, "< 60%"]];
      var rows = ["<strong>" + escapeHtml(data.figure_label) + "</strong>"];
      steps.forEach(function (s) {
        rows.push("<div><i style=\"background:" + rateColour(s[0], lowIsGood) + "\"></i>" + s[1] + "</div>");
      });
      rows.push("<div><i style=\"background:#bdbdbd\"></i>" + escapeHtml(el.dataset.noDataLabel || "") + "</div>");
      document.getElementById("map-legend").innerHTML = rows.join("");
    }
    m.load();
    window.gzCityMap = m;
  }

  function rate(v) { return v === null || v === undefined ? "—" : v + "%"; }

  function renderCard(card, c, labels) {
    var rows = [];
    rows.push("<h2>" + escapeHtml(c.name) + " <small>" + escapeHtml(c.kind_label) + "</small></h2>");
    rows.push("<p>" + escapeHtml(labels.householdsLabel || "") + " " + c.households + "</p>");
    if (c.figures) {
      var f = c.figures;
      rows.push("<dl class=\"card-figures\"><dt>" + escapeHtml(labels.receivedLabel) + "</dt><dd>" + f.received +
                "</dd><dt>" + escapeHtml(labels.openLabel2) + "</dt><dd>" + f.open + "</dd><dt>" +
                escapeHtml(labels.lateLabel) + "</dt><dd>" + f.overdue + "</dd><dt>" +
                escapeHtml(labels.responseLabel) + "</dt><dd>" + rate(f.response_rate) + "</dd><dt>" +
                escapeHtml(labels.ontimeLabel) + "</dt><dd>" + rate(f.on_time_rate) + "</dd><dt>" +
                escapeHtml(labels.satisfactionLabel) + "</dt><dd>" + rate(f.satisfaction_rate) + "</dd></dl>");
    }
    if (c.secretaries.length) rows.push("<p>" + escapeHtml(labels.secretaryLabel) + " " +
                                        escapeHtml(c.secretaries.join("、")) + "</p>");
    if (c.grid_workers.length) rows.push("<p>" + escapeHtml(labels.gridWorkerLabel) + " " +
                                         escapeHtml(c.grid_workers.join("、")) + "</p>");
    rows.push("<p>" + escapeHtml(labels.councilsLabel) + " " + c.councils + "</p>");
    rows.push("<p><a class=\"btn\" href=\"" + c.url + "\">" + escapeHtml(labels.areaPageLabel) + "</a></p>");
    card.innerHTML = rows.join("");
    card.hidden = false;
  }

  document.querySelectorAll("[data-map]").forEach(function (el) {
    if (el.dataset.map === "pick") mountPick(el);
    else if (el.dataset.map === "point") mountPoint(el);
    else if (el.dataset.map === "city") mountCity(el);
    else if (el.dataset.map === "area") new GZMap(el).load();
    else if (el.dataset.map === "screen") { window.gzScreenMap = new GZMap(el); window.gzScreenMap.load(); }
  });
})();
