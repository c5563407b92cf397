// The dashboard's only script of its own (no inline script: the CSP allows none).
// 1. Every <time datetime="…Z"> is shown in the viewer's time zone (the server writes UTC).
// 2. A filter form's hidden tz field gets the viewer's zone, so datetime-local inputs (which
//    carry no offset) are read in it.
// 3. A button[data-copy="ID"] copies the value of the field with that id (a connect link, a new
//    API key) to the clipboard, and says so; without the clipboard the field is selected.
// It runs at load and after every htmx live refresh.
(function () {
  "use strict";
  var format = new Intl.DateTimeFormat(undefined, {
    month: "short", day: "numeric",
    hour: "2-digit", minute: "2-digit", second: "2-digit", timeZoneName: "short"
  });
  var zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";

  function localTimes(root) {
    root.querySelectorAll("time[datetime]:not([data-local])").forEach(function (el) {
      var moment = new Date(el.getAttribute("datetime"));
      if (isNaN(moment.getTime())) { return; }
      el.title = el.getAttribute("datetime");
      el.textContent = format.format(moment);
      el.setAttribute("data-local", zone);
    });
  }

  function viewerZone(root) {
    root.querySelectorAll("input[data-viewer-tz]").forEach(function (el) {
      if (zone) { el.value = zone; }
    });
  }

  function copyButtons(root) {
    root.querySelectorAll("button[data-copy]:not([data-ready])").forEach(function (button) {
      button.setAttribute("data-ready", "");
      button.addEventListener("click", function () {
        var field = document.getElementById(button.getAttribute("data-copy"));
        if (!field) { return; }
        field.focus();
        field.select();
        var said = function (text) { button.textContent = text; };
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(field.value).then(
            function () { said("Copied"); },
            function () { said("Press Ctrl+C"); }
          );
        } else {
          said("Press Ctrl+C");
        }
      });
    });
  }

  function run() { localTimes(document); viewerZone(document); copyButtons(document); }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", run);
  } else {
    run();
  }
  document.addEventListener("htmx:afterSettle", run);
})();
