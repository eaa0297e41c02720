// The progress bar of a background job: every second its status.json, until it has finished; then the page is
// reloaded to show the result file or the error report. Without JavaScript the page offers a refresh link.
(function () {
  "use strict";
  document.querySelectorAll("[data-job-status]").forEach(function (box) {
    if (box.getAttribute("data-finished") === "1") return;
    var url = box.getAttribute("data-job-status");
    var bar = box.querySelector("progress");
    var state = box.querySelector("[data-job-field=state_label]");
    var figures = box.querySelector("[data-job-field=figures]");
    var template = box.getAttribute("data-figures") || "{done} / {total}";
    var timer = setInterval(function () {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (s) {
          if (!s) return;
          bar.value = s.percent;
          bar.textContent = s.percent + "%";
          state.textContent = s.state_label;
          if (s.total) figures.textContent = template.replace("{done}", s.done).replace("{total}", s.total);
          if (s.finished) { clearInterval(timer); window.location.reload(); }
        })
        .catch(function () { /* a missed beat: try again in a second */ });
    }, 1000);
  });
})();
