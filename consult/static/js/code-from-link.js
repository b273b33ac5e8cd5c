// Codes in mailed links (confirming an address, resetting a password) travel after "#", which
// browsers never send, so no access log keeps them. This puts the code in the page's form and,
// for confirming, sends it: one click from the email. Without this file the person pastes the
// code the email also gives.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("form[data-code-from-link]");
    var code = window.location.hash.slice(1);
    if (!form || !code) { return; }
    var input = form.querySelector("input[name=code]");
    if (!input) { return; }
    try { input.value = decodeURIComponent(code); } catch (e) { input.value = code; }
    // Out of the address bar and the history, where it could be copied or shared.
    history.replaceState(null, "", window.location.pathname + window.location.search);
    if (form.hasAttribute("data-submit") && !form.querySelector(".field-error")) {
      form.submit();
      return;
    }
    var next = form.querySelector("input[type=password]");
    if (next) { next.focus(); }
  });
})();
