/* Heard's show/hide logic for pages: the same rules as heard-domain's logic.rs (checked against the shared cases
   in tests/logic_vectors.json by the browser tests). A question hidden by logic counts as unanswered for later ones. */
(function (root) {
  "use strict";
  function strings(v) {
    if (v === undefined || v === null || v === "") return [];
    if (Array.isArray(v)) return v.map(String);
    return [String(v)];
  }
  function holds(c, answers) {
    if (c.all) return c.all.every(function (x) { return holds(x, answers); });
    if (c.any) return c.any.some(function (x) { return holds(x, answers); });
    var chosen = strings(answers[c.question]);
    var values = c.values || [];
    var hit = chosen.some(function (x) { return values.indexOf(x) >= 0; });
    switch (c.is) {
      case "answered": return chosen.length > 0;
      case "not_answered": return chosen.length === 0;
      case "any_of": return hit;
      case "none_of": return chosen.length > 0 && !hit;
      default: return true;
    }
  }
  /* questions: [{id, show_if}] in order; answers: {id: value}. Returns {id: visible}. */
  function visibility(questions, answers) {
    var visible = {}, seen = {};
    questions.forEach(function (q) {
      var shown = !q.show_if || holds(q.show_if, seen);
      if (shown && answers[q.id] !== undefined) seen[q.id] = answers[q.id];
      visible[q.id] = shown;
    });
    return visible;
  }
  root.HeardLogic = { holds: holds, visibility: visibility };
})(typeof globalThis !== "undefined" ? globalThis : this);
