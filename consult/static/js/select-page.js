// Progressive enhancement of "Select all" in a table of checkboxes (the moderation queue): without
// this file the button posts its own form and the page comes back with every box ticked; with
// it, a checkbox in the header ticks or clears the page's boxes at once, and shows when only
// some are ticked.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var box = document.querySelector(".select-page-box");
    var form = document.getElementById("queue-form");
    if (!box || !form) { return; }
    var items = Array.prototype.slice.call(form.querySelectorAll("input.select-item"));
    var button = document.querySelector(".select-page-button");
    function update() {
      var ticked = items.filter(function (item) { return item.checked; }).length;
      box.checked = ticked > 0 && ticked === items.length;
      box.indeterminate = ticked > 0 && ticked < items.length;
    }
    box.addEventListener("change", function () {
      items.forEach(function (item) { item.checked = box.checked; });
      update();
    });
    items.forEach(function (item) { item.addEventListener("change", update); });
    if (button) { button.hidden = true; }
    box.hidden = false;
    update();
  });
})();
