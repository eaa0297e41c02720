// The rater's scoring page: a running total, Tab / Enter down the points column (a deduction first visits its
// note), a button that fills the empty rows with full marks, and a confirmation before the final submit.
// Served as a static file: the Content-Security-Policy allows no inline handlers.
(function () {
  "use strict";
  var form = document.getElementById("sheet-form");
  if (!form) return;
  var inputs = Array.prototype.slice.call(form.querySelectorAll("input.points"));
  var total = document.getElementById("sheet-total");
  var filled = document.getElementById("sheet-filled");
  var evidence = form.dataset.evidence === "1";

  function value(input) {
    var v = parseFloat(input.value);
    return isNaN(v) ? null : v;
  }
  function recount() {
    var sum = 0, n = 0;
    inputs.forEach(function (input) {
      var v = value(input);
      var max = parseFloat(input.dataset.max);
      var row = input.closest("tr");
      row.classList.toggle("out-of-range", v !== null && (v < 0 || v > max));
      row.classList.toggle("deducted", v !== null && v < max);
      if (v !== null) { sum += v; n += 1; }
    });
    total.textContent = (Math.round(sum * 100) / 100).toString();
    if (filled) filled.textContent = "（已填 " + n + "/" + filled.dataset.of + " 项）";
  }
  function noteOf(input) {
    return input.closest("tr").querySelector("input.note-input");
  }
  function move(from, step) {
    var i = inputs.indexOf(from) + step;
    if (i >= 0 && i < inputs.length) { inputs[i].focus(); inputs[i].select(); return true; }
    return false;
  }
  form.addEventListener("input", function (event) {
    if (event.target.classList.contains("points")) recount();
  });
  form.addEventListener("keydown", function (event) {
    var t = event.target;
    if (event.key === "Enter" && t.classList.contains("points")) {
      event.preventDefault();  // Enter moves on; it never submits half a sheet
      move(t, 1);
      return;
    }
    if (event.key !== "Tab" || event.altKey || event.ctrlKey || event.metaKey) return;
    if (t.classList.contains("points")) {
      if (event.shiftKey) { if (move(t, -1)) event.preventDefault(); return; }
      var v = value(t);
      var note = noteOf(t);
      var needsNote = v !== null && v < parseFloat(t.dataset.max) && (evidence || note.value) && !note.value.trim();
      if (needsNote) return;  // the browser's own Tab goes to the note beside it
      if (move(t, 1)) event.preventDefault();
    } else if (t.classList.contains("note-input") && !event.shiftKey) {
      var points = t.closest("tr").querySelector("input.points");
      if (move(points, 1)) event.preventDefault();
    }
  });
  var fill = document.getElementById("fill-max");
  if (fill) fill.addEventListener("click", function () {
    inputs.forEach(function (input) { if (input.value === "") input.value = input.dataset.max; });
    recount();
  });
  form.addEventListener("submit", function (event) {
    var button = event.submitter;
    if (button && button.id === "sheet-submit" && !window.confirm(button.dataset.confirmText)) event.preventDefault();
  });
  recount();
})();
