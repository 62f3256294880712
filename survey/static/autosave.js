// Progressive enhancement: every page works without this file, with the same
// requests. With it:
// * the section and submit buttons post in the background: the page says that
//   the save is under way, a second click sends nothing more, and a request
//   that fails leaves the page as it was, with what was typed, and says so;
//   the page that answers replaces this one and its own address goes in the
//   history, so that back and refresh load sections, never re-post a form;
// * answers changed and then left alone for a while, or left behind when the
//   page is hidden or another link is followed, are saved in the background:
//   one save for all the changes of a pause, never one per answer.
(function () {
  "use strict";
  if (!window.fetch || !window.FormData || !window.DOMParser || !window.URLSearchParams ||
      !window.history || !history.pushState) { return; }

  // Long enough that a respondent answering a section and going on saves it
  // with the button alone; short enough that a phone put down keeps its answers.
  var IDLE_SAVE_MS = 30000;
  var TEXT_BUSY = "Đang lưu câu trả lời…";
  var TEXT_SENDING = "Đang gửi phiếu…";
  var TEXT_OFFLINE = "Chưa lưu được vì mất kết nối hoặc máy chủ không phản hồi. " +
    "Câu trả lời vẫn còn trên trang này; Ông/Bà vui lòng kiểm tra kết nối rồi bấm lại.";

  var form = null;      // the form of the page shown
  var dirty = false;    // changed since the last save that reached the server
  var timer = null;
  var saving = null;    // the background save under way (a promise), if any
  var navigating = false;
  // The second click of a double click can arrive after a fast server has already
  // answered the first: it would press the button in the same place on the next page
  // (skip a section, or send the questionnaire from the review). It is ignored.
  var DOUBLE_CLICK_MS = 600;
  var shownAt = -Infinity;

  function statusOf(target) {
    var status = target.querySelector(".autosave-status");
    if (!status) {
      status = document.createElement("p");
      status.className = "autosave-status";
      status.setAttribute("role", "status");
      status.setAttribute("aria-live", "polite");
      target.appendChild(status);
    }
    return status;
  }

  function show(text, state) {
    if (!form) { return; }
    var status = statusOf(form);
    status.textContent = text;
    status.classList.toggle("error", state === "error");
    status.setAttribute("data-state", state || "");
    status.setAttribute("role", state === "error" ? "alert" : "status");
  }

  function buttons(disabled) {
    var all = form.querySelectorAll("button[type=submit]");
    for (var i = 0; i < all.length; i++) {
      // A button the server rendered disabled (review, incomplete) stays so.
      if (disabled) {
        if (!all[i].disabled) { all[i].disabled = true; all[i].setAttribute("data-busy", "1"); }
      } else if (all[i].getAttribute("data-busy")) {
        all[i].disabled = false;
        all[i].removeAttribute("data-busy");
      }
    }
    form.setAttribute("aria-busy", disabled ? "true" : "false");
  }

  function body(submitter) {
    var data = new URLSearchParams(new FormData(form));
    if (submitter && submitter.name) { data.append(submitter.name, submitter.value); }
    return data;
  }

  // What a refused request's page says (its alert or notice), to show beside the form.
  function messageIn(html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    var node = doc.querySelector("[role=alert], .card.notice, .card.error");
    var text = node ? node.textContent.replace(/\s+/g, " ").trim() : "";
    return text.length > 400 ? text.slice(0, 400) + "…" : text;
  }

  function replacePage(html, responseUrl) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    document.title = doc.title;
    document.body.replaceWith(document.adoptNode(doc.body));
    var marker = document.querySelector("[data-page-url]");
    var address = marker ? new URL(marker.getAttribute("data-page-url"), responseUrl).href : responseUrl;
    history.pushState({ survey: true }, "", address);
    window.scrollTo(0, 0);
    shownAt = performance.now();
    setUp();
    var heading = document.querySelector("h1");
    if (heading) { heading.setAttribute("tabindex", "-1"); heading.focus(); }
  }

  // A section or submit button: the post a browser would send, in the background.
  function post(event) {
    event.preventDefault();
    if (navigating) { return; }  // a second click while the first is on its way
    navigating = true;
    if (timer) { clearTimeout(timer); timer = null; }
    var submitter = event.submitter || document.activeElement;
    var sending = form.classList.contains("submit-form");
    var data = body(submitter && submitter.form === form ? submitter : null);
    buttons(true);
    show(sending ? TEXT_SENDING : TEXT_BUSY, "busy");
    var target = form.getAttribute("action");  // not .action: buttons named "action" shadow it
    (saving || Promise.resolve()).catch(function () {}).then(function () {
      return fetch(target, { method: "POST", body: data, credentials: "same-origin" });
    }).then(function (response) {
      return response.text().then(function (html) {
        if (response.ok) {
          dirty = false;
          navigating = false;
          replacePage(html, response.url);
          return;
        }
        fail(messageIn(html) || "Máy chủ chưa lưu được câu trả lời (mã " + response.status + ").");
      });
    }).catch(function () { fail(TEXT_OFFLINE); });
  }

  function fail(message) {
    navigating = false;
    buttons(false);
    show(message + " Không có câu trả lời nào trên trang bị mất.", "error");
  }

  // The changes of a pause, saved together; resolves once the server has them (or refused them).
  function saveInBackground(keepalive) {
    if (timer) { clearTimeout(timer); timer = null; }
    if (!form || !dirty || navigating || !form.hasAttribute("data-autosave")) { return saving || Promise.resolve(); }
    if (saving) {  // one at a time: the changes made meanwhile go in the next one
      return saving.then(function () { return saveInBackground(keepalive); });
    }
    dirty = false;
    var current = form;
    show(TEXT_BUSY, "busy");
    saving = fetch(current.getAttribute("action"), {
      method: "POST", body: body(null), credentials: "same-origin", keepalive: !!keepalive,
      headers: { "X-Requested-With": "autosave" }
    }).then(function (response) {
      return response.json().then(function (data) {
        if (current !== form) { return; }
        if (response.ok && data.ok) {
          var now = new Date();
          show("Đã tự động lưu lúc " + now.toLocaleTimeString("vi-VN", { hour: "2-digit", minute: "2-digit" }) + ".", "ok");
          var text = document.getElementById("progress-text");
          var bar = document.querySelector("nav.steps progress");
          if (text) { text.textContent = data.answered + "/" + data.total + " câu đã trả lời"; }
          if (bar) { bar.value = data.answered; }
        } else {
          dirty = true;
          show((data.message || (data.messages || []).join(" ") || "Chưa lưu được.") + " Vui lòng bấm “Lưu”.", "error");
        }
      });
    }).catch(function () {
      if (current === form) { dirty = true; show(TEXT_OFFLINE, "error"); }
    }).then(function () { saving = null; });
    return saving;
  }

  function changed(delay) {
    dirty = true;
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(function () { saveInBackground(false); }, delay);
    show("Có thay đổi chưa lưu.", "pending");
  }

  function setUp() {
    form = document.querySelector("form[data-autosave], form.submit-form");
    dirty = false;
    if (!form) { return; }
    form.addEventListener("submit", post);
    form.addEventListener("change", function () { changed(IDLE_SAVE_MS); });
    form.addEventListener("input", function (event) {
      if (event.target.tagName === "TEXTAREA") { changed(IDLE_SAVE_MS); }
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("button[type=submit]") : null;
    if (button && event.detail > 1 && performance.now() - shownAt < DOUBLE_CLICK_MS) { event.preventDefault(); }
  }, true);

  // Another link of the page (a section, the review) while answers wait: save them first.
  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a[href]") : null;
    if (!link || !dirty || event.defaultPrevented || event.button !== 0 || event.ctrlKey || event.metaKey) { return; }
    event.preventDefault();
    // Only once they are on the server: if the save failed, the page says so and keeps them.
    saveInBackground(false).then(function () { if (!dirty) { window.location.href = link.href; } });
  });
  // The phone locks, the respondent switches apps or closes the tab: what waits goes now.
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") { saveInBackground(true); }
  });
  window.addEventListener("pagehide", function () { saveInBackground(true); });
  // Entries this script put in the history are pages of their own: load them afresh.
  window.addEventListener("popstate", function () { window.location.reload(); });

  setUp();
})();
