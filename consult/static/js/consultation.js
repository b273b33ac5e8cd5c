// The consultation's page, progressive enhancement only: a link to words inside a folded section
// (a highlight, a footnote, the contents) opens the fold, in browsers that do not do it themselves.
(function () {
  "use strict";
  function reveal() {
    var id = window.location.hash && decodeURIComponent(window.location.hash.slice(1));
    var target = id && document.getElementById(id);
    var fold = target && target.closest && target.closest("details.section-fold");
    if (fold && !fold.open) {
      fold.open = true;
      target.scrollIntoView();
    }
  }
  document.addEventListener("DOMContentLoaded", reveal);
  window.addEventListener("hashchange", reveal);
})();
