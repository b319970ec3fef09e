/* Share page behaviour: day tabs, one Leaflet map per day, and the visit outcome buttons.
   No inline script: the plan's data arrives as JSON in <script type="application/json"
   id="plan-data">. The list is complete without this file; it hides inactive days, draws
   maps and records outcomes. */
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

  // Outcome buttons: a first tap picks the status, a second tap on "Confirm" records it with
  // a JSON POST authorised by the share token in the URL (the server refuses other bodies).
  // Every text is set with textContent, so nothing from the server is parsed as HTML.
  var outcomes = config.outcomes || null;

  function part(stop, selector) { return stop.querySelector(selector); }

  function cancelChoice(stop) {
    stop.removeAttribute("data-pending");
    part(stop, ".choices").hidden = false;
    part(stop, ".confirm").hidden = true;
  }

  function choose(stop, status) {
    stop.setAttribute("data-pending", status);
    part(stop, ".confirm-label").textContent = outcomes.labels[status] || status;
    part(stop, ".choices").hidden = true;
    part(stop, ".confirm").hidden = false;
    part(stop, ".report-error").hidden = true;
    part(stop, ".confirm-yes").focus();
  }

  function showOutcome(stop, status) {
    var names = stop.className.split(" ").filter(function (c) { return c.indexOf("outcome-") !== 0; });
    names.push("outcome-" + status);
    stop.className = names.join(" ");
    var label = part(stop, ".outcome-status");
    label.textContent = outcomes.labels[status] || status;
    label.setAttribute("data-status", status);
    part(stop, ".outcome").hidden = false;
  }

  function submit(stop) {
    var status = stop.getAttribute("data-pending");
    if (!status) { return; }
    var yes = part(stop, ".confirm-yes");
    yes.disabled = true;
    fetch(outcomes.url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify({ customer_id: stop.getAttribute("data-customer"), status: status }),
      credentials: "omit",
      cache: "no-store"
    }).then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.json();
    }).then(function (saved) {
      showOutcome(stop, saved.status);
      cancelChoice(stop);
    }).catch(function () {
      part(stop, ".report-error").hidden = false;
    }).then(function () {
      yes.disabled = false;
    });
  }

  document.addEventListener("click", function (event) {
    if (!outcomes || !event.target.closest) { return; }
    var button = event.target.closest(".report button");
    var stop = button ? button.closest(".stop") : null;
    if (!stop) { return; }
    if (button.classList.contains("outcome-button")) {
      choose(stop, button.getAttribute("data-status"));
    } else if (button.classList.contains("confirm-yes")) {
      submit(stop);
    } else if (button.classList.contains("confirm-no")) {
      cancelChoice(stop);
    }
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
