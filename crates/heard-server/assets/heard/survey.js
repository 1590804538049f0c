/* Enhances the hosted survey page: shows and hides conditional questions as people answer (the page works without
   this script: every question shows with a note saying when it applies), and moves focus to the error summary. */
(function () {
  "use strict";
  var form = document.querySelector("form[data-heard-survey]");
  if (!form || !window.HeardLogic) return;
  form.classList.add("heard-js");
  var blocks = Array.prototype.slice.call(form.querySelectorAll("[data-question]"));
  var questions = blocks.map(function (el) {
    var raw = el.getAttribute("data-show-if");
    return { id: el.getAttribute("data-question"), show_if: raw ? JSON.parse(raw) : null, el: el };
  });
  function answers() {
    var out = {};
    questions.forEach(function (q) {
      var inputs = q.el.querySelectorAll("input, textarea");
      var vals = [];
      Array.prototype.forEach.call(inputs, function (i) {
        if ((i.type === "radio" || i.type === "checkbox") ? i.checked : i.value.trim() !== "") vals.push(i.value);
      });
      if (vals.length) out[q.id] = vals.length > 1 || (inputs[0] && inputs[0].type === "checkbox") ? vals : vals[0];
    });
    return out;
  }
  function update() {
    var vis = window.HeardLogic.visibility(questions, answers());
    questions.forEach(function (q) {
      var shown = vis[q.id];
      q.el.hidden = !shown;
      Array.prototype.forEach.call(q.el.querySelectorAll("input, textarea"), function (i) { i.disabled = !shown; });
    });
  }
  form.addEventListener("change", update);
  form.addEventListener("input", update);
  update();
  var summary = document.getElementById("error-summary");
  if (summary) summary.focus();
})();
