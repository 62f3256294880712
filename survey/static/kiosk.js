// Kiosk mode. The page works without this file (post, thanks page, back to a new form).
// With it, answers are sent without leaving the page, so no history entry ever holds
// them; a submission that cannot be sent (network down) is kept in this page's memory
// only (never in storage the next citizen could reach) and sent when the network
// returns. Each submission has a random id the server stores once, so a retry after
// a lost acknowledgement stores nothing more. The page restarts after the thanks and
// after a period without a touch.
(function () {
  "use strict";
  var form = document.querySelector("form[data-kiosk]");
  if (!form || !window.fetch || !window.crypto || !window.URLSearchParams) { return; }
  var thanks = document.getElementById("kiosk-thanks");
  var problem = document.getElementById("kiosk-problem");
  var queueNote = document.getElementById("kiosk-queue");
  var idleMs = Number(form.getAttribute("data-idle-seconds")) * 1000;
  var thanksMs = Number(form.getAttribute("data-thanks-seconds")) * 1000;
  var RETRY_MS = 5000;
  var SEND_TIMEOUT_MS = 15000;
  var GIVE_UP_MS = 24 * 3600 * 1000; // the server keeps receipts two days (KIOSK_RECEIPT_DAYS)
  var action = form.getAttribute("action");
  var queue = [];
  var sending = false;
  var lastTouch = Date.now();
  var thanksTimer = null;

  function newId() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function restart() {
    clearTimeout(thanksTimer);
    form.reset();
    form.elements.submission_id.value = newId();
    problem.hidden = true;
    thanks.hidden = true;
    form.hidden = false;
    // Drop anything the address could carry and start at the top.
    window.history.replaceState(null, "", window.location.pathname);
    window.scrollTo(0, 0);
    lastTouch = Date.now();
  }

  function showQueue() {
    queueNote.hidden = queue.length === 0;
    queueNote.textContent = queue.length ? "Đang chờ mạng để gửi " + queue.length + " phiếu" : "";
  }

  function unanswered() {
    var missing = [];
    Array.prototype.forEach.call(form.querySelectorAll("fieldset.question.required"), function (fieldset) {
      var filled = Array.prototype.some.call(fieldset.querySelectorAll("input, textarea, select"), function (el) {
        return (el.type === "radio" || el.type === "checkbox") ? el.checked : el.value.trim() !== "";
      });
      if (!filled) { missing.push(fieldset); }
    });
    return missing;
  }

  function flush() {
    if (sending || queue.length === 0) { return; }
    var item = queue[0];
    if (Date.now() - item.at > GIVE_UP_MS) { queue.shift(); showQueue(); flush(); return; }
    sending = true;
    // A request that never ends must not stop the queue: give up on it and try again.
    var abort = window.AbortController ? new AbortController() : null;
    var timer = abort && setTimeout(function () { abort.abort(); }, SEND_TIMEOUT_MS);
    fetch(action, {
      method: "POST", body: item.body, credentials: "same-origin", cache: "no-store",
      signal: abort ? abort.signal : undefined,
      headers: { "Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json" }
    }).then(function (response) {
      // Stored, stored before, or refused for good (the citizen has gone; it cannot be fixed):
      // either way this submission is done. A limit or a server error: try again later.
      if (response.status !== 429 && response.status < 500) { queue.shift(); }
    }).catch(function () {
      // The network is down: keep it and try again.
    }).then(function () {
      clearTimeout(timer);
      sending = false;
      showQueue();
      if (queue.length) { setTimeout(flush, queue[0] === item ? RETRY_MS : 0); }
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var missing = unanswered();
    if (missing.length) {
      problem.hidden = false;
      problem.querySelector("ul").innerHTML = "";
      missing.forEach(function (fieldset) {
        var li = document.createElement("li");
        li.textContent = "Câu " + fieldset.id.replace(/^q_/, "") + " là câu bắt buộc: vui lòng trả lời.";
        problem.querySelector("ul").appendChild(li);
      });
      missing[0].scrollIntoView();
      return;
    }
    queue.push({ body: new URLSearchParams(new FormData(form)).toString(), at: Date.now() });
    // The answers now live only in the queue: the screen is cleared for the next citizen at once.
    form.reset();
    form.hidden = true;
    problem.hidden = true;
    thanks.hidden = false;
    window.scrollTo(0, 0);
    thanksTimer = setTimeout(restart, thanksMs);
    showQueue();
    flush();
  });

  Array.prototype.forEach.call(document.querySelectorAll(".kiosk-restart"), function (button) {
    button.addEventListener("click", function (event) { event.preventDefault(); restart(); });
  });
  ["pointerdown", "keydown", "input", "scroll", "touchstart"].forEach(function (type) {
    window.addEventListener(type, function () { lastTouch = Date.now(); }, { passive: true });
  });
  setInterval(function () {
    if (Date.now() - lastTouch > idleMs) { restart(); }
  }, 1000);
  window.addEventListener("online", flush);
  setInterval(flush, RETRY_MS);
  // Coming back to this page through history (or the back-forward cache) shows a new form.
  window.addEventListener("pageshow", restart);
  restart();
})();
