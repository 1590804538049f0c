// Heard's embeddable survey widget. One script tag per survey; it configures itself from its own data attributes:
// data-survey (the survey's API address), data-mode (tab, inline or button), data-target (the id of the inline
// element or of the page's own button), data-lang, data-touchpoint, data-hidden (JSON of hidden answers),
// data-preview (staff previews: counts nothing, sends nothing) and data-nonce (only for browsers without
// constructable style sheets).
// Promises kept to the host page: nothing is rendered or shifted until the survey is offered; everything lives in a
// Shadow DOM so styles cross in neither direction; no inline script, no style attribute and no innerHTML, so a strict
// Content-Security-Policy needs nothing but this server in script-src and connect-src; no cookies, no storage, no
// request to any other host; if this server is down or slow the widget gives up quietly with a console warning.
// Served compacted by the server (whole-line comments and indentation dropped), so every string stays on one line.
(() => {
  "use strict";
  const W = window, D = document;

  // The show/hide rules: the same semantics as assets/heard/logic.js and heard-domain's logic.rs, checked against the
  // shared cases in tests/logic_vectors.json by the browser tests. A question hidden by logic counts as unanswered for
  // the questions after it.
  const strs = (v) => (v == null || v === "" ? [] : Array.isArray(v) ? v.map(String) : [String(v)]);
  const holds = (c, a) => {
    if (c.all) return c.all.every((x) => holds(x, a));
    if (c.any) return c.any.some((x) => holds(x, a));
    const got = strs(a[c.question]), vals = c.values || [], hit = got.some((x) => vals.indexOf(x) >= 0);
    switch (c.is) {
      case "answered": return got.length > 0;
      case "not_answered": return got.length === 0;
      case "any_of": return hit;
      case "none_of": return got.length > 0 && !hit;
      default: return true;
    }
  };
  const visibility = (qs, a) => {
    const vis = {}, seen = {};
    qs.forEach((q) => {
      const on = !q.show_if || holds(q.show_if, seen);
      if (on && a[q.id] !== undefined) seen[q.id] = a[q.id];
      vis[q.id] = on;
    });
    return vis;
  };
  W.HeardWidget = { visibility };

  const me = D.currentScript;
  // Old browsers without what the widget needs simply get no widget.
  if (!me || !me.dataset.survey || !W.fetch || !D.head.attachShadow || !W.HTMLDialogElement) return;
  const cfg = me.dataset, mode = cfg.mode || "tab", preview = cfg.preview != null;
  const warn = (m) => console.warn("Heard widget: " + m + " The page works as before.");
  const detail = { mode };
  // Events bubble from the script element to the document, for the host page's own analytics.
  const fire = (name, more) => me.dispatchEvent(new CustomEvent("heard:" + name, { bubbles: true, detail: Object.assign({}, detail, more) }));

  // Every request: no cookies, no Referer (the page's address could carry personal data), a time limit, and only
  // "simple" requests (text/plain JSON) so no preflight doubles the round trips.
  const req = (url, body) => {
    const ac = new AbortController(), t = setTimeout(() => ac.abort(), 8000);
    return fetch(url, { method: body ? "POST" : "GET", body: body && JSON.stringify(body), headers: body ? { "content-type": "text/plain" } : {}, credentials: "omit", referrerPolicy: "no-referrer", signal: ac.signal }).finally(() => clearTimeout(t));
  };

  const h = (tag, attrs, ...kids) => {
    const e = D.createElement(tag);
    for (const k in attrs) {
      const v = attrs[k];
      if (typeof v == "function") e.addEventListener(k.slice(2), v);
      else if (v != null && v !== false) e.setAttribute(k, v === true ? "" : v);
    }
    e.append(...kids.filter((k) => k != null && k !== false && k !== ""));
    return e;
  };

  // An idempotency key made in the page: a retry of the same answers stores one response.
  const newKey = () => Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => (b + 256).toString(16).slice(1)).join("");

  const CSS = ":host{all:initial;display:block;font:16px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;color:#1b1b1b}" +
  "*{box-sizing:border-box;font:inherit;color:inherit}[hidden]{display:none!important}" +
  ":focus-visible{outline:.25em solid #2491ff;outline-offset:.15em}" +
  ".tab{position:fixed;right:1em;bottom:0;z-index:2147483000;background:#005ea2;color:#fff;border:0;border-radius:.3em .3em 0 0;padding:.5em 1em;font-weight:700;cursor:pointer;box-shadow:0 0 .4em rgba(0,0,0,.35)}" +
  "dialog{width:min(36em,calc(100% - 2em));max-height:calc(100% - 2em);overflow:auto;border:0;border-radius:.5em;padding:1.25em 1.5em;background:#fff;box-shadow:0 .25em 1.5em rgba(0,0,0,.4)}dialog::backdrop{background:rgba(0,0,0,.5)}" +
  ".box{padding:1em;background:#fff}.hd{display:flex;justify-content:space-between;align-items:flex-start;gap:1em}" +
  ".x{background:none;border:0;font-size:1.75em;line-height:1;padding:0 .25em;cursor:pointer}" +
  "h2{font-size:1.375em;font-weight:700;line-height:1.25;margin:0 0 .5em}p{margin:.5em 0}.hint,.pra{color:#565c65}.pra{margin-top:1.5em;font-size:.8125em}" +
  ".q{border:0;margin:1.25em 0 0;padding:0;min-width:0}.lg{display:block;font-weight:700;margin:0 0 .25em;padding:0}.req{color:#b50909;text-decoration:none}" +
  ".opts{display:grid;gap:.5em}.opt{display:flex;gap:.6em;align-items:center;border:1px solid #a9aeb1;border-radius:.25em;padding:.5em .75em;cursor:pointer}.opt:has(:checked){border-color:#005ea2;background:#e7f2f8}" +
  ".opt input{width:1.25em;height:1.25em;margin:0;flex:none;accent-color:#005ea2}" +
  ".in{display:block;width:100%;border:1px solid #565c65;padding:.5em;background:#fff}" +
  ".err{color:#b50909;font-weight:700;margin:.25em 0}.err:empty{display:none}.bad{border-left:.25em solid #b50909;padding-left:.75em}" +
  ".sum{border-left:.5em solid #b50909;background:#f4e3db;padding:.5em 1em;margin:1em 0}.sum:empty{display:none}.sum ul{margin:.25em 0;padding-left:1.25em}" +
  ".btn{margin-top:1.5em;background:#005ea2;color:#fff;border:0;border-radius:.25em;padding:.75em 1.25em;font-weight:700;cursor:pointer}.btn:hover{background:#1a4480}.btn:disabled{background:#71767a}" +
  ".lnk{vertical-align:top;background:none;border:0;padding:0;color:#005ea2;text-decoration:underline;cursor:pointer;text-align:left}.ty{font-size:1.125em;font-weight:700}";

  const start = async () => {
    let doc;
    try {
      const r = await req(cfg.survey);
      if (!r.ok) throw Error("HTTP " + r.status);
      doc = await r.json();
    } catch (e) {
      warn("the survey could not be loaded (" + (e.name == "AbortError" ? "timed out" : e.message) + "); is this site among the survey's allowed origins?");
      return fire("error", { reason: "load" });
    }
    detail.survey = doc.survey_id;
    if (doc.closed) {
      warn("the survey is closed.");
      return fire("error", { reason: "closed" });
    }
    await new Promise((ok) => (D.readyState == "loading" ? D.addEventListener("DOMContentLoaded", ok) : ok()));
    const target = mode != "tab" && D.getElementById(cfg.target || "");
    if (mode != "tab" && !target) {
      warn("no element with id \"" + cfg.target + "\" for the " + mode + " mode.");
      return fire("error", { reason: "target" });
    }
    // Sampling is decided here, per page view, with no identifier. A visitor who presses the page's own button asked
    // for the survey, so the button mode is always offered.
    const sampled = preview || mode == "button" || Math.random() * 100 < doc.sample_percent;
    if (!sampled) return fire("loaded", { sampled });

    const def = doc.definition, langs = def.languages, texts = doc.texts;
    const want = (cfg.lang || D.documentElement.lang || "").slice(0, 2).toLowerCase();
    const lang = texts[want] && langs.indexOf(want) >= 0 ? want : langs.find((l) => texts[l]) || "en";
    const T = texts[lang], S = T.survey, E = T.errors, X = T.widget;
    const L = (t) => (t && (t[lang] || t[langs[0]] || t.en)) || "";
    let hidden = {};
    try { hidden = JSON.parse(cfg.hidden || "{}"); } catch (e) { warn("data-hidden is not JSON."); }

    const host = h("div", { "data-heard": mode });
    const root = host.attachShadow({ mode: "open" });
    if (root.adoptedStyleSheets && CSSStyleSheet.prototype.replaceSync) {
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      root.adoptedStyleSheets = [sheet];
    } else {
      root.append(h("style", { nonce: cfg.nonce || me.nonce || null }, CSS));
    }

    // The fixed answers of the scale questions, with the hosted page's labels.
    const SC = T.scale, fixed = { agreement5: [1, 2, 3, 4, 5].map((n) => [n, SC["a" + n]]), thumbs: [[1, SC.thumbs_up], [0, SC.thumbs_down]], yes_no: [["yes", SC.yes], ["no", SC.no]] };
    const blocks = {};
    let anyRequired = false;
    const items = def.questions.filter((q) => q.type != "hidden").map((q) => {
      const id = "q-" + q.id, help = L(q.help), opts = fixed[q.type] || (q.options || []).map((o) => [o.value, L(o.label)]);
      const err = h("p", { class: "err", id: id + "-e" });
      const star = q.required && h("abbr", { class: "req", title: S.required }, "*");
      anyRequired = anyRequired || q.required;
      const hint = help && h("p", { class: "hint", id: id + "-h" }, help);
      let el, fields;
      if (opts.length) {
        const multi = q.type == "multiple_choice";
        fields = opts.map(([v]) => h("input", { type: multi ? "checkbox" : "radio", name: id, value: v }));
        el = h("fieldset", { class: "q", "aria-describedby": (help ? id + "-h " : "") + id + "-e" },
          h("legend", { class: "lg" }, L(q.prompt), star && " ", star), hint, err,
          h("div", { class: "opts" }, ...opts.map(([, label], i) => h("label", { class: "opt" }, fields[i], label))));
      } else {
        const long = q.type == "long_text", kind = { email: "email", phone: "tel" }[q.type];
        fields = [h(long ? "textarea" : "input", { class: "in", id: id + "-i", name: id, type: long ? null : kind || "text", autocomplete: kind || null, maxlength: long ? 5000 : 300, rows: long ? 4 : null, "aria-describedby": (help ? id + "-h " : "") + (long ? id + "-p " : "") + id + "-e" })];
        el = h("div", { class: "q" }, h("label", { class: "lg", for: id + "-i" }, L(q.prompt), star && " ", star), hint, long && h("p", { class: "hint", id: id + "-p" }, S.privacy), err, fields[0]);
      }
      blocks[q.id] = { q, el, err, fields };
      return el;
    });

    const answers = () => {
      const a = {};
      def.questions.forEach((q) => {
        const b = blocks[q.id];
        if (!b) {
          if (hidden[q.id] != null) a[q.id] = String(hidden[q.id]);
        } else if (q.type == "multiple_choice") {
          const v = b.fields.filter((f) => f.checked).map((f) => f.value);
          if (v.length) a[q.id] = v;
        } else if (b.fields[0].type == "radio") {
          const c = b.fields.find((f) => f.checked);
          if (c) a[q.id] = fixed[q.type] && q.type != "yes_no" ? +c.value : c.value;
        } else if (b.fields[0].value.trim()) {
          a[q.id] = b.fields[0].value.trim();
        }
      });
      return a;
    };
    // Shows and hides questions by the survey's rules, and returns the answers to the questions shown.
    const update = () => {
      const a = answers(), vis = visibility(def.questions, a);
      for (const id in blocks) {
        blocks[id].el.hidden = !vis[id];
        blocks[id].fields.forEach((f) => (f.disabled = !vis[id]));
      }
      for (const id in a) if (!vis[id]) delete a[id];
      return a;
    };

    const sum = h("div", { class: "sum", role: "alert", tabindex: "-1" });
    const stat = h("p", { class: "hint", role: "status" });
    // Marks each question in error, lists them in the alert (announced at once) and moves focus to that list.
    const showErrors = (errs) => {
      const list = [];
      for (const id in blocks) {
        const b = blocks[id], code = errs[id], msg = code ? E[code] || X.invalid : "";
        b.err.textContent = msg;
        b.el.classList.toggle("bad", !!code);
        if (b.fields[0].classList.contains("in")) b.fields[0].toggleAttribute("aria-invalid", !!code);
        if (code) list.push(h("li", {}, h("button", { type: "button", class: "lnk", onclick: () => b.fields[0].focus() }, L(b.q.prompt) + ": " + msg)));
      }
      sum.replaceChildren(...(list.length ? [h("p", { class: "lg" }, S.errors_title), h("ul", {}, ...list)] : []));
      if (list.length) sum.focus();
      return list.length;
    };

    let key = newKey(), sending = false, counted = false;
    // A display is counted once, when the survey is really shown; previews count nothing.
    const seen = () => {
      if (counted || preview) return;
      counted = true;
      req(doc.display_url, cfg.touchpoint ? { touchpoint_id: cfg.touchpoint } : {}).catch(() => {});
    };
    const button = h("button", { type: "submit", class: "btn" }, S.submit);
    const form = h("form", { novalidate: true, oninput: update, onchange: update }, ...items, button, stat);
    const title = h("h2", { id: "h-t" }, L(def.title));
    const thanks = (msg, callback) => {
      const t = h("p", { class: "ty", tabindex: "-1" }, msg);
      sum.replaceChildren();
      // A callback offered: the agency's own page, where the person picks a time and a number.
      form.replaceWith(t, ...(callback ? [h("p", {}, X.callback_text + " ", h("a", { href: callback, target: "_blank", rel: "noopener" }, X.callback_link))] : []));
      t.focus();
    };
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      if (sending) return;
      const a = update(), errs = {};
      def.questions.forEach((q) => {
        if (blocks[q.id] && q.required && !blocks[q.id].el.hidden && a[q.id] == null) errs[q.id] = "required";
      });
      if (showErrors(errs)) return;
      if (preview) return thanks(X.preview);
      sending = button.disabled = true;
      stat.textContent = X.sending;
      const body = { idempotency_key: key, answers: a, survey_version: doc.version, language: lang, page_path: (location.pathname + (doc.keep_query ? location.search : "")).slice(0, 500) };
      if (cfg.touchpoint) body.touchpoint_id = cfg.touchpoint;
      // Network failures and server errors are retried with the same key, so a lost reply never stores twice.
      let r;
      for (let tries = 0; tries < 3; tries++) {
        if (tries) await new Promise((ok) => setTimeout(ok, 1000 * tries));
        r = await req(doc.submit_url, body).catch(() => null);
        if (r && r.status < 500 && r.status != 429) break;
      }
      sending = button.disabled = false;
      stat.textContent = "";
      if (r && r.ok) {
        fire("submitted");
        const j = await r.json().catch(() => ({}));
        return thanks(L(def.thank_you) || S.thanks, typeof j.callback_url == "string" && /^https?:\/\//.test(j.callback_url) ? j.callback_url : null);
      }
      let reason = "submit", msg = X.failed;
      if (r && r.status == 422) {
        const j = await r.json().catch(() => ({})), found = {};
        (j.errors || []).forEach((x) => {
          const m = /^answers\.(.+)$/.exec(x.field);
          if (m && blocks[m[1]]) found[m[1]] = x.code;
        });
        reason = "invalid";
        msg = showErrors(found) ? "" : X.invalid;
      } else if (r && r.status == 410) {
        msg = S.closed;
      } else if (r && r.status == 409) {
        // The first answers sent with this form's key were stored (their reply was lost); these were not.
        msg = X.reused;
      }
      if (msg) {
        sum.replaceChildren(h("p", {}, msg));
        sum.focus();
      }
      fire("error", { reason, status: r ? r.status : 0 });
    });
    const pra = def.pra && h("p", { class: "pra" }, S.omb.replace("{number}", def.pra.omb_control_number).replace("{date}", def.pra.expiration_date.replace(/^(\d+)-(\d+)-(\d+)$/, "$2/$3/$1")), " ", L(def.pra.burden_statement));
    const intro = L(def.intro) && h("p", {}, L(def.intro));
    const note = anyRequired && h("p", { class: "hint" }, S.required_note);
    update();

    if (mode == "inline") {
      root.append(h("section", { class: "box", "aria-labelledby": "h-t" }, title, intro, note, sum, form, pra));
      target.append(host);
      // Inline, the survey is displayed when it scrolls into view.
      const io = new IntersectionObserver((es) => {
        if (es.some((x) => x.isIntersecting)) {
          io.disconnect();
          seen();
        }
      });
      io.observe(host);
    } else {
      let opener;
      const dlg = h("dialog", { "aria-labelledby": "h-t" }, h("div", { class: "hd" }, title, h("button", { type: "button", class: "x", "aria-label": X.close, onclick: () => dlg.close() }, "×")), intro, note, sum, form, pra);
      const focusables = () => [...dlg.querySelectorAll("button,input,textarea")].filter((f) => !f.disabled && f.getClientRects().length);
      // Focus stays in the dialog: Tab from the last control goes to the first, Shift+Tab from the first to the last.
      dlg.addEventListener("keydown", (e) => {
        if (e.key != "Tab") return;
        const f = focusables(), first = f[0], last = f[f.length - 1], at = root.activeElement;
        if (e.shiftKey ? at == first : at == last) {
          e.preventDefault();
          (e.shiftKey ? last : first).focus();
        }
      });
      // Esc and the close button both end here: focus goes back to what opened the dialog.
      dlg.addEventListener("close", () => opener && opener.focus());
      const open = (from) => {
        opener = from;
        dlg.showModal();
        const f = focusables();
        (f[1] || f[0]).focus();
        seen();
        fire("opened");
      };
      if (mode == "button") {
        target.setAttribute("aria-haspopup", "dialog");
        target.addEventListener("click", () => open(target));
        root.append(dlg);
      } else {
        const tab = h("button", { type: "button", class: "tab", "aria-haspopup": "dialog", onclick: () => open(tab) }, X.open);
        root.append(tab, dlg);
      }
      D.body.append(host);
    }
    fire("loaded", { sampled });
  };
  start();
})();
