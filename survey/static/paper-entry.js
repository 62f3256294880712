// Paper entry: the page works without this file (Tab between fields, Enter submits).
// With it: a field's content is selected when Tab reaches it, so a correction is typed
// over, not appended; codes are upper-cased; a code the question does not have is
// marked at once, before the server refuses it.
(function () {
  "use strict";
  var form = document.querySelector("form.paper-entry");
  if (!form) { return; }
  var fields = form.querySelectorAll("input[data-codes]");

  function check(input) {
    var codes = input.getAttribute("data-codes").split(" ");
    var value = input.value.trim().toUpperCase();
    var parts = value ? value.split(/[\s,;]+/) : [];
    if (input.getAttribute("data-kind") === "multi" && parts.length === 1 && codes.indexOf(parts[0]) < 0) {
      parts = parts[0].split("");
    }
    var bad = parts.some(function (p) { return p !== "-" && codes.indexOf(p) < 0; });
    input.classList.toggle("bad-code", bad);
  }

  Array.prototype.forEach.call(fields, function (input) {
    input.addEventListener("input", function () {
      var upper = input.value.toUpperCase();
      if (upper !== input.value) { input.value = upper; }
      check(input);
    });
  });
  function selectIfText(element) {
    if (element && element.tagName === "INPUT" && element.type === "text") { element.select(); }
  }
  form.addEventListener("focusin", function (event) { selectIfText(event.target); });
  // The field the page put the focus on (the form number, or the first refused code) may have
  // been focused before this script ran.
  selectIfText(document.activeElement);
})();
