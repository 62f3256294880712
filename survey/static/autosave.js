// Progressive enhancement: the form works without this file. With it, every
// change is saved to the server as the respondent goes (nothing is kept only
// in the browser), and the progress counter follows.
(function () {
  "use strict";
  var form = document.querySelector("form[data-autosave]");
  if (!form || !window.fetch || !window.FormData) { return; }
  var status = form.querySelector(".autosave-status");
  var progressText = document.getElementById("progress-text");
  var progressBar = document.querySelector("nav.steps progress");
  var timer = null;

  function show(text, isError) {
    if (!status) { return; }
    status.textContent = text;
    status.classList.toggle("error", !!isError);
  }

  function save() {
    timer = null;
    var body = new FormData(form);
    // getAttribute: the buttons named "action" shadow the form's .action property.
    fetch(form.getAttribute("action"), {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-Requested-With": "autosave" }
    }).then(function (response) {
      return response.json().then(function (data) { return { ok: response.ok, data: data }; });
    }).then(function (result) {
      if (result.ok && result.data.ok) {
        var now = new Date();
        show("Đã tự động lưu lúc " + now.toLocaleTimeString("vi-VN", { hour: "2-digit", minute: "2-digit" }) + ".");
        if (progressText) { progressText.textContent = result.data.answered + "/" + result.data.total + " câu đã trả lời"; }
        if (progressBar) { progressBar.value = result.data.answered; }
        form.dataset.saved = String(Date.now());
      } else {
        var message = result.data.message || (result.data.messages || []).join(" ") || "Chưa lưu được.";
        show(message + " Vui lòng bấm “Lưu”.", true);
      }
    }).catch(function () {
      show("Mất kết nối: chưa lưu được. Câu trả lời sẽ được lưu khi Ông/Bà bấm “Lưu”.", true);
    });
  }

  function schedule(delay) {
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(save, delay);
    show("Đang lưu…");
  }

  form.addEventListener("change", function () { schedule(300); });
  form.addEventListener("input", function (event) {
    if (event.target.tagName === "TEXTAREA") { schedule(1200); }
  });
  // Before leaving with the buttons, the normal form post saves everything;
  // cancel a pending autosave so the two do not race.
  form.addEventListener("submit", function () { if (timer) { clearTimeout(timer); timer = null; } });
})();
