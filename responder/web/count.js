// Counts a text's SMS segments as a clinician types it: the rule of replying/segments.py.
// The page works without it; the count is a courtesy, the server's is the one that matters.
(function () {
  "use strict";
  var BASIC = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
              "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
  var EXTENSION = "^{}\\[~]|€\f";
  function count(text) {
    if (!text) { return 0; }
    var chars = Array.from(text), gsm = chars.every(function (c) { return BASIC.indexOf(c) >= 0 || EXTENSION.indexOf(c) >= 0; });
    var sizes = chars.map(function (c) { return gsm ? (EXTENSION.indexOf(c) >= 0 ? 2 : 1) : (c.codePointAt(0) > 0xFFFF ? 2 : 1); });
    var single = gsm ? 160 : 70, multi = gsm ? 153 : 67, total = sizes.reduce(function (a, b) { return a + b; }, 0);
    if (total <= single) { return 1; }
    var segments = 1, used = 0;
    sizes.forEach(function (size) { if (used + size > multi) { segments += 1; used = 0; } used += size; });
    return segments;
  }
  document.addEventListener("DOMContentLoaded", function () {
    var body = document.getElementById("reply-body"), shown = document.getElementById("segments");
    var channels = document.querySelectorAll("input[name=channel]");
    if (!body || !shown) { return; }
    function update() {
      var sms = Array.prototype.some.call(channels, function (c) { return c.checked && c.value === "sms"; });
      var n = count(body.value.replace(/\r\n/g, "\n").trim());
      shown.textContent = sms ? n + " text segment" + (n === 1 ? "" : "s") : "";
    }
    body.addEventListener("input", update);
    Array.prototype.forEach.call(channels, function (c) { c.addEventListener("change", update); });
    update();
  });
}());
