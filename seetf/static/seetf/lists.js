/* SEETF: lists on a laptop and a phone. The knowledge hub's filters are a <details>,
   collapsed by default so that a phone shows the stories first; on a wider screen this
   opens it, where there is room beside the results. Without script it is one click. */
(function () {
  "use strict";
  if (!window.matchMedia || !window.matchMedia("(min-width: 40.01rem)").matches) {
    return;
  }
  document.querySelectorAll("details[data-open-wide]").forEach(function (details) {
    details.open = true;
  });
})();
