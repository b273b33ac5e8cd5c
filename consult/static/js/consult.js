// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    // Move focus to the error summary after a failed submit, so screen-reader users hear it.
    var summary = document.querySelector(".error-summary");
    if (summary) { summary.focus(); return; }
    // A form that answers at a fragment (the amendment preview): focus it, so it is announced.
    var target = window.location.hash && document.getElementById(window.location.hash.slice(1));
    if (target && target.getAttribute("tabindex") === "-1") { target.focus(); }
  });
})();
