// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    // Move focus to the error summary after a failed submit, so screen-reader users hear it.
    var summary = document.querySelector(".error-summary");
    if (summary) { summary.focus(); }
  });
})();
