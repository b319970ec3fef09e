/* Share page behaviour: day tabs and one Leaflet map per day. No inline script: the plan's
   map data arrives as JSON in <script type="application/json" id="plan-data">. The list is
   complete without this file; it only hides inactive days and draws maps. */
(function () {
  "use strict";
  var root = document.documentElement;
  root.className += " js";
  var config = JSON.parse(document.getElementById("plan-data").textContent);
  var maps = {};

  function drawMap(key) {
    if (maps[key] || typeof L === "undefined") { return; }
    var el = document.getElementById("map-" + key);
    var day = config.days[key];
    if (!el || !day || !day.stops.length) { return; }
    var map = L.map(el, { scrollWheelZoom: false, attributionControl: true });
    if (config.tiles) {
      L.tileLayer(config.tiles, { maxZoom: 19, attribution: config.attribution }).addTo(map);
    } else if (config.attribution) {
      map.attributionControl.addAttribution(config.attribution);
    }
    var points = [];
    if (day.start) {
      points.push(day.start);
      L.marker(day.start, { icon: L.divIcon({ className: "start-marker", iconSize: [14, 14] }) }).addTo(map);
    }
    day.stops.forEach(function (stop) {
      var latlng = [stop[0], stop[1]];
      points.push(latlng);
      var icon = L.divIcon({ className: "stop-marker", html: String(stop[2]), iconSize: [24, 24] });
      // title is set as an attribute by Leaflet (text, not HTML), so names stay inert.
      L.marker(latlng, { icon: icon, title: stop[2] + ". " + stop[3] }).addTo(map);
    });
    if (day.start) { points.push(day.start); }
    // Road geometry when the plan has it (OSRM), else straight segments between the stops.
    var line = day.route && day.route.length > 1 ? day.route : points;
    L.polyline(line, { color: "#0b63c5", weight: 3, opacity: 0.8 }).addTo(map);
    points = points.concat(line);
    map.fitBounds(L.latLngBounds(points), { padding: [24, 24], maxZoom: 15 });
    maps[key] = map;
  }

  function show(key, push) {
    var tabs = document.querySelectorAll(".tab");
    var days = document.querySelectorAll(".day");
    for (var i = 0; i < tabs.length; i++) {
      var on = tabs[i].getAttribute("data-day") === key;
      tabs[i].classList.toggle("active", on);
      tabs[i].setAttribute("aria-selected", on ? "true" : "false");
    }
    for (var j = 0; j < days.length; j++) {
      days[j].classList.toggle("active", days[j].getAttribute("data-day") === key);
    }
    drawMap(key);
    if (maps[key]) { maps[key].invalidateSize(); }
    if (push && history.replaceState) { history.replaceState(null, "", "#day-" + key); }
  }

  document.addEventListener("click", function (event) {
    var tab = event.target.closest ? event.target.closest(".tab") : null;
    if (!tab) { return; }
    event.preventDefault();
    show(tab.getAttribute("data-day"), true);
  });

  function start() {
    var fromHash = location.hash.indexOf("#day-") === 0 ? location.hash.slice(5) : null;
    var active = document.querySelector(".tab.active");
    var key = fromHash && config.days[fromHash] ? fromHash : (active ? active.getAttribute("data-day") : null);
    if (key) { show(key, false); }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
