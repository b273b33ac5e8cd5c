// While a new opinion map is being computed (by the job worker), ask the map's status now and
// then and reload the page once the new map is ready, so nobody has to guess when to reload.
// A script rather than <meta http-equiv="refresh">: that would reload the page under the
// reader's eyes every few seconds whether or not anything changed (WCAG 2.2.1; axe-core's
// "meta-refresh" rule). Without this file the panel's "reload the page" link does the job.
(function () {
  "use strict";
  var FIRST_DELAY = 1000, MAX_DELAY = 15000, MAX_TRIES = 60;
  function start() {
    var panel = document.getElementById("map-updating");
    var url = panel && panel.getAttribute("data-status-url");
    if (!url || !window.fetch) { return; }
    var auto = panel.querySelector(".map-reload-auto");
    if (auto) { auto.hidden = false; }  // only now is it true
    var tries = 0, delay = FIRST_DELAY;
    function ask() {
      tries += 1;
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (status) {
          // Ready (or given up on: the reloaded page then says the map is as of its date).
          if (status && !status.updating) { window.location.reload(); return; }
          later();
        })
        .catch(later);
    }
    function later() {
      if (tries >= MAX_TRIES) { return; }
      delay = Math.min(delay * 1.5, MAX_DELAY);
      window.setTimeout(ask, delay);
    }
    window.setTimeout(ask, FIRST_DELAY);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
