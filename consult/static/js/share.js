// "Copy link" beside the page's address in the share box (templates/sharing/_share.html).
// Without JavaScript the address stays in its read-only field, ready to be selected and copied.
(function () {
  "use strict";
  function init() {
    var box = document.querySelector("[data-share-copy]");
    if (!box) return;
    var field = box.querySelector("input");
    var button = document.createElement("button");
    button.type = "button";
    button.className = "button";
    button.textContent = "Copy link";
    var said = document.createElement("p");
    said.className = "copied";
    said.setAttribute("role", "status");
    box.appendChild(button);
    box.appendChild(said);
    field.addEventListener("focus", function () { field.select(); });
    button.addEventListener("click", function () {
      function done() { said.textContent = "Link copied."; }
      function fallback() {
        field.focus();
        field.select();
        var copied = false;
        try { copied = document.execCommand("copy"); } catch (e) { copied = false; }
        said.textContent = copied ? "Link copied." : "Select the link and copy it.";
      }
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(done, fallback);
      } else {
        fallback();
      }
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
