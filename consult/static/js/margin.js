// The margin panel: a section's or a highlight's discussion beside the text on wide screens, in a
// bottom sheet on phones that leaves the words discussed visible above it; replies and comments
// are posted in place. Progressive enhancement: without this file every link it takes over
// (a highlight's count link, "Comment on this section", "N comments") goes to the section's
// page, whose forms and reply pages do the same work.
(function () {
  "use strict";

  var panel = document.getElementById("margin-panel");
  if (!panel || !window.fetch || !window.DOMParser || !window.URL) { return; }
  var content = panel.querySelector(".margin-content");
  var status = panel.querySelector(".margin-status");
  var closeButton = panel.querySelector(".margin-close");
  var wide = window.matchMedia("(min-width: 1000px)");
  var trigger = null; // what opened the panel: the focus goes back there when it closes
  var words = null; // the element or Range the discussion is about: kept in view
  var currentUrl = null;

  function say(message) {
    // Emptied first, so the same words said twice are announced twice.
    status.textContent = "";
    window.setTimeout(function () { status.textContent = message; }, 50);
  }

  function fetchFragment(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } }).then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.text();
    });
  }

  // The fragment's own element, adopted into the page; its flashed messages go to the live region.
  function render(html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    var fragment = doc.querySelector(".margin-discussion");
    if (!fragment) { throw new Error("not a discussion"); }
    var flashes = fragment.querySelector(".margin-flashes");
    var message = flashes ? flashes.textContent.replace(/\s+/g, " ").trim() : "";
    if (flashes) { flashes.remove(); }
    content.replaceChildren(document.importNode(fragment, true));
    return message;
  }

  function commentIds() {
    return Array.prototype.map.call(content.querySelectorAll("article.comment[id]"), function (a) { return a.id; });
  }

  // Keep the words discussed on screen: beside the panel on wide screens (the page makes room
  // for it), above the bottom sheet on phones (the page gets room below to scroll them up).
  function keepWordsVisible() {
    if (!words || (words.isConnected === false)) { return; }
    var rect = words.getBoundingClientRect();
    var top = 16;
    var bottom = window.innerHeight - 16;
    if (!wide.matches) {
      bottom = panel.getBoundingClientRect().top - 8;
      document.body.style.setProperty("--margin-sheet-height", (window.innerHeight - bottom + 8) + "px");
    }
    if (rect.top < top || rect.bottom > bottom) {
      var room = Math.max(0, (bottom - top - rect.height) / 2);
      window.scrollBy({ top: rect.top - top - (wide.matches ? room : Math.min(room, 48)), left: 0, behavior: "instant" });
    }
  }

  function open(url, opener, about, focusSelector, fallback) {
    if (panel.hidden) { trigger = opener; }
    words = about || opener;
    currentUrl = url;
    panel.setAttribute("aria-busy", "true");
    return fetchFragment(url).then(function (html) {
      var message = render(html);
      panel.hidden = false;
      panel.removeAttribute("aria-busy");
      document.body.classList.add("margin-open");
      keepWordsVisible();
      var target = (focusSelector && content.querySelector(focusSelector)) || content.querySelector("#margin-heading");
      if (target) { target.focus({ preventScroll: true }); }
      if (message) { say(message); }
    }, function () {
      // No fragment (a network error, a section the current version dropped): the page itself.
      panel.removeAttribute("aria-busy");
      window.location.assign(fallback || opener.href);
    });
  }

  function close() {
    if (panel.hidden) { return; }
    panel.hidden = true;
    content.replaceChildren();
    status.textContent = "";
    document.body.classList.remove("margin-open");
    document.body.style.removeProperty("--margin-sheet-height");
    if (trigger && trigger.isConnected) { trigger.focus(); }
    trigger = null;
    words = null;
  }

  // After a post: the discussion again (without the words a new annotation quoted), the new
  // comment focused, the message the server flashed said.
  function refresh(before) {
    var url = new URL(currentUrl, window.location.href);
    ["quote", "start", "end"].forEach(function (name) { url.searchParams.delete(name); });
    currentUrl = url.pathname + url.search;
    return fetchFragment(currentUrl).then(function (html) {
      var message = render(html);
      var fresh = commentIds().filter(function (id) { return before.indexOf(id) < 0; });
      var article = fresh.length ? document.getElementById(fresh[fresh.length - 1]) : null;
      if (article) {
        article.classList.add("margin-new");
        article.setAttribute("tabindex", "-1");
        article.focus({ preventScroll: true });
        article.scrollIntoView({ block: "nearest" });
      } else {
        content.querySelector("#margin-heading").focus({ preventScroll: true });
      }
      say(message || "Posted.");
    });
  }

  // What a refused post says, read from the page the server answered with.
  function showError(form, html, code) {
    var messages = [];
    if (html) {
      var doc = new DOMParser().parseFromString(html, "text/html");
      var items = doc.querySelectorAll(".error-summary li, .error-message");
      Array.prototype.forEach.call(items, function (item) {
        var text = item.textContent.replace(/^\s*Error:\s*/, "").replace(/\s+/g, " ").trim();
        if (text && messages.indexOf(text) < 0) { messages.push(text); }
      });
      if (!messages.length) {
        var main = doc.querySelector("main") || doc.body;
        var text = main ? main.textContent.replace(/\s+/g, " ").trim() : "";
        if (text) { messages.push(text.slice(0, 300)); }
      }
    }
    if (!messages.length) { messages.push("It could not be posted" + (code ? " (error " + code + ")" : "") + ". Please try again."); }
    var box = form.querySelector(".margin-error");
    if (!box) {
      box = document.createElement("div");
      box.className = "margin-error error-summary";
      box.setAttribute("role", "alert");
      form.insertBefore(box, form.firstChild);
    }
    box.replaceChildren();
    messages.forEach(function (m) {
      var p = document.createElement("p");
      p.textContent = m;
      box.appendChild(p);
    });
    var body = form.querySelector("[name=body]");
    if (body) { body.setAttribute("aria-invalid", "true"); body.focus(); }
  }

  function submit(form) {
    var button = form.querySelector("[type=submit]");
    button.disabled = true;
    var before = commentIds();
    // redirect: "manual": a post that worked answers with a redirect to the full page, which is
    // not needed; one that did not answers with the page of the form and its errors.
    fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin", redirect: "manual" })
      .then(function (response) {
        if (response.type === "opaqueredirect" || (response.status >= 300 && response.status < 400)) {
          return refresh(before);
        }
        return response.text().then(function (html) {
          button.disabled = false;
          showError(form, html, response.status);
        });
      })
      .catch(function () {
        button.disabled = false;
        showError(form, null, 0);
      });
  }

  function openReply(link, parentId) {
    var template = content.querySelector("template.margin-reply-template");
    if (!template) { window.location.assign(link.href); return; }
    var open = content.querySelector(".margin-reply-form");
    if (open) { open.remove(); }
    var form = template.content.firstElementChild.cloneNode(true);
    form.action = link.href;
    form.querySelector("[name=parent_id]").value = parentId;
    var actions = link.closest(".comment-actions") || link;
    actions.parentNode.insertBefore(form, actions.nextSibling);
    form.querySelector(".margin-cancel").addEventListener("click", function () {
      form.remove();
      link.focus();
    });
    form.querySelector("[name=body]").focus();
  }

  // The highlight's words and the links that open its discussion.
  function linksOfMark(mark) {
    var root = mark.closest(".section-body") || document;
    return (mark.getAttribute("data-annotation") || "").split(" ").map(function (id) {
      return root.querySelector('a.annotation-link[data-annotation="' + CSS.escape(id) + '"][data-discussion]');
    }).filter(Boolean);
  }

  function discussionOfMark(mark) {
    var links = linksOfMark(mark);
    if (!links.length) { return null; }
    var url = new URL(links[0].getAttribute("data-discussion"), window.location.href);
    links.slice(1).forEach(function (link) {
      new URL(link.getAttribute("data-discussion"), window.location.href).searchParams.getAll("annotation").forEach(function (id) {
        url.searchParams.append("annotation", id);
      });
    });
    return { url: url.pathname + url.search, link: links[0] };
  }

  function wordsOfLink(link) {
    var before = link.previousElementSibling;
    return link.classList.contains("annotation-link") && before && before.matches("mark.annotation") ? before : link;
  }

  function plainClick(event) {
    return !event.defaultPrevented && event.button === 0 && !event.metaKey && !event.ctrlKey && !event.shiftKey && !event.altKey;
  }

  document.addEventListener("click", function (event) {
    if (!plainClick(event) || panel.contains(event.target)) { return; }
    var link = event.target.closest("a[data-discussion]");
    if (link) {
      event.preventDefault();
      open(link.getAttribute("data-discussion"), link, wordsOfLink(link), link.hash === "#comment-form" ? "#margin-body" : null);
      return;
    }
    var mark = event.target.closest("mark.annotation");
    var selection = window.getSelection ? window.getSelection() : null;
    if (!mark || mark.closest("a") || (selection && !selection.isCollapsed)) { return; }
    var found = discussionOfMark(mark);
    if (found) { open(found.url, found.link, mark); }
  });

  content.addEventListener("click", function (event) {
    if (!plainClick(event)) { return; }
    var link = event.target.closest("a");
    if (!link) { return; }
    if (link.hasAttribute("data-discussion")) {
      event.preventDefault();
      open(link.getAttribute("data-discussion"), link, words);
      return;
    }
    var reply = /\/comments\/(\d+)\/reply$/.exec(link.pathname);
    if (reply && link.origin === window.location.origin) {
      event.preventDefault();
      openReply(link, reply[1]);
    }
  });

  content.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute("data-margin-form")) { return; } // following, moderating: the page's own forms
    event.preventDefault();
    submit(form);
  });

  // "Comment on the selected words" (annotate.js): the comment form opens here, not on another page.
  document.addEventListener("consult:annotate", function (event) {
    var detail = event.detail;
    if (!detail.url) { return; }
    event.preventDefault();
    // The fragment's address is the section page's plus "/discussion" (comments.section_discussion).
    var url = new URL(detail.url, window.location.href);
    var fallback = url.pathname + "?" + detail.query;
    url.pathname += "/discussion";
    url.search = detail.query;
    // The button hides once used: the focus comes back to the section's own "Comment" link, or,
    // while that sits in a closed "Take part" panel, to the panel's summary.
    var section = event.target.closest("section");
    var opener = (section && section.querySelector("a[data-discussion]")) || detail.button;
    var closed = opener && opener.closest && opener.closest("details:not([open])");
    if (closed) { opener = closed.querySelector("summary") || detail.button; }
    open(url.pathname + url.search, opener, detail.range, "#margin-body", fallback);
  });

  closeButton.addEventListener("click", close);
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && !panel.hidden) {
      event.preventDefault();
      close();
    }
  });
  // Turning a phone, resizing a window: the words stay clear of the panel.
  wide.addEventListener("change", function () { if (!panel.hidden) { keepWordsVisible(); } });
})();
