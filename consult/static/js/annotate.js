// Annotations: select words in a section of the policy, then comment on them.
// Progressive enhancement: without this file every section has a "Comment on this section"
// link and the comment form has a "words you are commenting on" field that the server locates.
(function () {
  "use strict";

  var bodies = document.querySelectorAll(".section-body[data-section-key]");
  if (!bodies.length || !window.getSelection) { return; }

  var button = document.createElement("button");
  button.type = "button";
  button.className = "button annotate-popup";
  button.textContent = "Comment on the selected words";
  button.hidden = true;
  document.body.appendChild(button);
  var current = null;
  // Below this width the button is a bar fixed at the bottom of the screen (margin.css's
  // breakpoint too): beside a selection it would cover the next lines on a phone.
  var narrow = window.matchMedia("(max-width: 999px)");

  function codePoints(s) { return Array.from(s).length; }

  // Offset of a DOM boundary point in the section's textContent, in Unicode code points: the
  // server counts the same way (the annotation count links it adds hold no text).
  function textOffset(root, container, offset) {
    var range = document.createRange();
    range.setStart(root, 0);
    range.setEnd(container, offset);
    var walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    var total = 0;
    var node;
    while ((node = walker.nextNode())) {
      if (!range.intersectsNode(node)) { break; }
      if (node === container) { return total + codePoints(node.data.slice(0, offset)); }
      total += codePoints(node.data);
    }
    return total;
  }

  function bodyOf(node) {
    var el = node.nodeType === 1 ? node : node.parentNode;
    return el && el.closest ? el.closest(".section-body[data-section-key]") : null;
  }

  function readSelection() {
    var selection = window.getSelection();
    if (!selection || selection.rangeCount === 0 || selection.isCollapsed) { return null; }
    var range = selection.getRangeAt(0);
    var root = bodyOf(range.commonAncestorContainer);
    var quote = selection.toString().trim();
    if (!root || !quote) { return null; }
    return {
      root: root,
      quote: quote,
      start: textOffset(root, range.startContainer, range.startOffset),
      end: textOffset(root, range.endContainer, range.endOffset),
      rect: range.getBoundingClientRect(),
      range: range.cloneRange()
    };
  }

  function update() {
    var info = readSelection();
    if (!info) {
      if (document.activeElement !== button) { button.hidden = true; current = null; }
      return;
    }
    current = info;
    // Right after the section in the document, so Tab from the text reaches it next.
    info.root.parentNode.insertBefore(button, info.root.nextSibling);
    button.hidden = false;
    if (narrow.matches) {
      button.classList.add("annotate-bar");
      button.style.top = "";
      button.style.left = "";
      // The selected words stay above the bar.
      var clear = button.getBoundingClientRect().top - 8;
      if (info.rect.bottom > clear) { window.scrollBy({ top: info.rect.bottom - clear, left: 0, behavior: "instant" }); }
      return;
    }
    button.classList.remove("annotate-bar");
    var parentRect = button.offsetParent ? button.offsetParent.getBoundingClientRect() : { top: 0, left: 0 };
    button.style.top = (info.rect.bottom - parentRect.top + 8) + "px";
    button.style.left = Math.max(0, info.rect.left - parentRect.left) + "px";
  }

  var timer = null;
  document.addEventListener("selectionchange", function () {
    clearTimeout(timer);
    timer = setTimeout(update, 150);
  });
  // Keep the selection when the button is pressed with a mouse or a finger.
  button.addEventListener("mousedown", function (event) { event.preventDefault(); });

  button.addEventListener("click", function () {
    if (!current) { return; }
    var root = current.root;
    var formId = root.getAttribute("data-annotate-form");
    var form = formId && document.getElementById(formId);
    if (form && form.querySelector("[name=quote]")) {
      form.querySelector("[name=quote]").value = current.quote;
      form.querySelector("[name=start]").value = current.start;
      form.querySelector("[name=end]").value = current.end;
      button.hidden = true;
      var body = form.querySelector("[name=body]");
      form.scrollIntoView({ block: "start" });
      if (body) { body.focus(); }
      return;
    }
    var url = root.getAttribute("data-annotate-url");
    if (!url) { return; }
    var params = new URLSearchParams({ quote: current.quote, start: String(current.start), end: String(current.end) });
    // The text in another language than the original: the quote is that text's words.
    var texts = root.closest("[data-text-language]");
    if (texts) { params.set("text", texts.getAttribute("data-text-language")); }
    // The margin panel (margin.js), where the page has one, opens the form in place.
    var asked = new CustomEvent("consult:annotate", {
      bubbles: true,
      cancelable: true,
      detail: { url: url, query: params.toString(), quote: current.quote, start: current.start, end: current.end, range: current.range, button: button }
    });
    if (!root.dispatchEvent(asked)) {
      button.hidden = true;
      return;
    }
    // No #fragment: the section page focuses the comment field (autofocus), which browsers
    // skip when the address names a fragment.
    window.location.assign(url + "?" + params.toString());
  });
})();
