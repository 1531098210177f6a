// Suggests the browser's own timezone on a timezone select the member has not chosen
// yet (the server marks it with data-suggest-browser-timezone). Choosing works without
// this script; it only saves scrolling through the list.
(function () {
  "use strict";
  var select = document.querySelector("select[data-suggest-browser-timezone]");
  if (!select || !window.Intl || !Intl.DateTimeFormat) {
    return;
  }
  var zone;
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch (error) {
    return;
  }
  for (var i = 0; i < select.options.length; i += 1) {
    if (select.options[i].value === zone) {
      select.value = zone;
      return;
    }
  }
})();
