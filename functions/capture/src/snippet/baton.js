/*! Baton form snippet: posts a form's lead to Baton and shows the routed rep's booking link.
 *
 *   <script src="https://YOUR-BATON-API/baton.js" data-baton-key="pk_live_…" defer></script>
 *
 * Settings (data attributes on the script tag; only data-baton-key is required):
 *   data-baton-key             the form's public capture key
 *   data-baton-endpoint        the Baton API (default: where this script is served from)
 *   data-baton-form            CSS selector of the form(s) (default: form[data-baton], else the first
 *                              form with an email or phone field)
 *   data-baton-form-id         source.form_id (default: the form's id)
 *   data-baton-form-type       source.form_type, such as demo_request (default: the form's data-form-type)
 *   data-baton-dnt             "respect" (default): with Do Not Track or Global Privacy Control on,
 *                              nothing is stored and no first touch is sent; "ignore" to track anyway
 *   data-baton-attribution     "off": never store attribution (the page's own UTMs are still sent)
 *   data-baton-fallback-url    a team calendar, shown when no rep's booking link can be
 *   data-baton-fallback-label  its link text (default "Book a time with our team")
 *   data-baton-thanks          the plain thank-you (default "Thanks! We'll be in touch shortly.")
 *   data-baton-patience        ms to wait for routing before the fallback (default 15000)
 *   data-baton-style           "none": add no styles (classes: baton-panel, baton-error, baton-errors)
 *
 * Form fields are named as the lead contract names them (email, first_name, company, …); other
 * named fields go to attributes (hidden fields only with data-baton-field, and never anything
 * that looks like a CSRF token). A consent checkbox is named "consent" (or has
 * data-baton-consent); its data-baton-consent value is the wording version,
 * data-baton-consent-purpose the purpose.
 *
 * It never breaks the page: if Baton cannot take the lead, the form's own submission goes ahead
 * as the browser would have made it (with the pressed button). A form marked data-baton-standalone
 * has no handler of its own and is posted to Baton as a plain HTML form instead. If the page's
 * own script already handles the submit (it called preventDefault first), the snippet never
 * submits the form itself. A 400's field errors are shown next to the fields they name; one
 * that names no field of the form lets the form's own submission go ahead. Once Baton has the
 * lead, nothing is sent again. Events on the form: baton:captured, baton:handoff, baton:fallback,
 * baton:unreachable.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.__batonLoaded) return;
  window.__batonLoaded = true;
  var cfg = function (name, fallback) {
    var v = script.getAttribute("data-baton-" + name);
    return v === null || v === "" ? fallback : v;
  };
  var key = cfg("key", "");
  var endpoint = cfg("endpoint", new URL(".", script.src).href).replace(/\/+$/, "");
  var patience = Number(cfg("patience", 15000)) || 15000;
  var FIELDS = ["email", "phone", "first_name", "last_name", "company", "website", "job_title", "country",
    "region", "postal_code", "company_size", "employee_count", "product_interest", "message", "_honeypot"];
  var UTM = ["utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"];
  var STORE = "baton:attribution", LANDING = "baton:landing";

  var dnt = navigator.doNotTrack === "1" || window.doNotTrack === "1" || navigator.globalPrivacyControl === true;
  var tracking = cfg("attribution", "on") !== "off" && !(dnt && cfg("dnt", "respect") !== "ignore");

  function storage(kind) {
    try { return tracking ? window[kind] : null; } catch (e) { return null; }
  }
  function read(kind, name) {
    try { var s = storage(kind); return s ? JSON.parse(s.getItem(name) || "null") : null; } catch (e) { return null; }
  }
  function write(kind, name, value) {
    try { var s = storage(kind); if (s) s.setItem(name, JSON.stringify(value)); } catch (e) { /* full or blocked */ }
  }

  // Attribution: this visit's landing page, and the first and last campaign touches.
  var params = new URLSearchParams(location.search);
  var external = "";
  try { if (document.referrer && new URL(document.referrer).origin !== location.origin) external = document.referrer; } catch (e) { /* opaque */ }
  var landing = read("sessionStorage", LANDING);
  if (!landing) { landing = location.href; write("sessionStorage", LANDING, landing); }
  var touch = { landing_page: landing, at: new Date().toISOString() };
  if (external) touch.referrer = external;
  UTM.forEach(function (u) { var v = params.get(u); if (v) touch[u] = v.slice(0, 256); });
  var saved = read("localStorage", STORE) || {};
  var campaign = external || UTM.some(function (u) { return touch[u]; });
  if (!saved.first) saved.first = touch;
  if (campaign || !saved.last) saved.last = touch;
  write("localStorage", STORE, saved);

  function source(form) {
    var s = { page_url: location.href.slice(0, 2048) };
    var last = tracking ? saved.last : null;
    UTM.forEach(function (u) { var v = last ? last[u] : params.get(u); if (v) s[u] = v; });
    if (tracking) {
      if (last && last.referrer) s.referrer = last.referrer.slice(0, 2048);
      s.landing_page = landing.slice(0, 2048);
      var first = saved.first;
      if (first) {
        s.first_touch = {};
        ["landing_page", "referrer", "at"].concat(UTM).forEach(function (f) { if (first[f]) s.first_touch[f] = String(first[f]).slice(0, 2048); });
      }
    }
    var id = cfg("form-id", form.getAttribute("id")), type = cfg("form-type", form.getAttribute("data-form-type"));
    if (id) s.form_id = id;
    if (type) s.form_type = type;
    return s;
  }

  function consentBox(form) {
    return form.querySelector("input[type=checkbox][data-baton-consent], input[type=checkbox][name=consent]");
  }

  // The form's own properties, even when a field is named "elements", "id" or "hidden".
  var elementsOf = Object.getOwnPropertyDescriptor(HTMLFormElement.prototype, "elements").get;
  var SECRET = /csrf|xsrf|token|authenticity|captcha|nonce|password|secret/i;

  function lead(form) {
    var body = { source: source(form) }, attributes = {}, n = 0;
    var box = consentBox(form);
    Array.prototype.forEach.call(elementsOf.call(form), function (el) {
      var name = el.name;
      if (!name || el.disabled || el === box || name === "_key" || /^(submit|button|reset|file|password|image)$/.test(el.type)) return;
      if (name !== "_honeypot" && (SECRET.test(name) || (el.type === "hidden" && !el.hasAttribute("data-baton-field")))) return;
      if ((el.type === "checkbox" || el.type === "radio") && !el.checked) return;
      var value = String(el.value || "").trim();
      if (!value) return;
      if (name === "employee_count") {
        if (/^\d+$/.test(value)) body.employee_count = Number(value);
        else if (!body.company_size) body.company_size = value.slice(0, 32);
      } else if (FIELDS.indexOf(name) >= 0) {
        body[name] = value;
      } else if (/^[A-Za-z0-9_.-]{1,64}$/.test(name) && name.charAt(0) !== "_" && n < 50) {
        attributes[name] = attributes[name] ? (attributes[name] + ", " + value).slice(0, 1000) : value.slice(0, 1000);
        n = Object.keys(attributes).length;
      }
    });
    if (n) body.attributes = attributes;
    if (box) {
      body.consent = { granted: box.checked };
      var version = box.getAttribute("data-baton-consent"), purpose = box.getAttribute("data-baton-consent-purpose");
      if (version) body.consent.wording_version = version;
      if (purpose) body.consent.purpose = purpose;
    }
    return body;
  }

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = new Uint8Array(16); crypto.getRandomValues(b);
    return Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text) e.textContent = text;
    return e;
  }

  function clearErrors(form) {
    Array.prototype.forEach.call(form.querySelectorAll(".baton-error, .baton-errors"), function (e) { e.remove(); });
    Array.prototype.forEach.call(form.querySelectorAll("[aria-invalid][data-baton-invalid]"), function (f) {
      f.removeAttribute("aria-invalid"); f.removeAttribute("data-baton-invalid"); f.removeAttribute("aria-describedby");
    });
  }

  function field(form, name) {
    if (name === "consent" || name.indexOf("consent.") === 0) return consentBox(form);
    var elements = elementsOf.call(form);
    if (name === "email") return elements.namedItem("email") || elements.namedItem("phone") || null;
    var f = elements.namedItem(name.replace(/^attributes\./, ""));
    return f && f.nodeType ? f : (f && f[0]) || null;
  }

  // Shows each error next to its field; false when one names no field of the form.
  function showErrors(form, errors, standalone) {
    var unplaced = errors.filter(function (e) { return !field(form, e.field || ""); });
    if (unplaced.length && !standalone) return false;
    var summary = [], first = null;
    errors.forEach(function (e, i) {
      var f = field(form, e.field || "");
      if (!f) { summary.push(e.field + ": " + e.message); return; }
      var msg = el("span", "baton-error", e.message);
      msg.id = "baton-error-" + i;
      msg.setAttribute("data-field", e.field);
      f.setAttribute("aria-invalid", "true");
      f.setAttribute("data-baton-invalid", "");
      f.setAttribute("aria-describedby", msg.id);
      (f.type === "checkbox" && f.parentNode.tagName === "LABEL" ? f.parentNode : f).insertAdjacentElement("afterend", msg);
      first = first || f;
    });
    if (summary.length) {
      var box = el("div", "baton-errors", summary.join(" · "));
      box.setAttribute("role", "alert");
      form.insertBefore(box, form.firstChild);
    }
    if (first) first.focus();
    return true;
  }

  // The form's own submission, as the browser would have made it: the page keeps working
  // without Baton. A standalone form (no handler of its own) is posted to Baton as plain HTML.
  function fallback(form, state) {
    if (state.hostHandles) return; // the page's own script submits it
    if (!form.hasAttribute("data-baton-standalone")) {
      state.passThrough = true;
      if (form.requestSubmit) return form.requestSubmit(state.submitter || undefined);
      if (state.submitter && state.submitter.name) {
        var b = el("input"); b.type = "hidden"; b.name = state.submitter.name; b.value = state.submitter.value; form.appendChild(b);
      }
      return HTMLFormElement.prototype.submit.call(form);
    }
    var body = lead(form), plain = el("form");
    plain.method = "post";
    plain.action = endpoint + "/leads";
    plain.setAttribute("hidden", "");
    var add = function (name, value) {
      var i = el("input"); i.type = "hidden"; i.name = name; i.value = String(value); plain.appendChild(i);
    };
    add("_key", key);
    Object.keys(body).forEach(function (k) {
      var v = body[k];
      if (k === "source") Object.keys(v).forEach(function (f) { if (f !== "first_touch") add(f, v[f]); });
      else if (k === "attributes") Object.keys(v).forEach(function (a) { add("attributes." + a, v[a]); });
      else if (k === "consent") {
        add("consent", v.granted ? "on" : "off");
        if (v.wording_version) add("consent_wording_version", v.wording_version);
        if (v.purpose) add("consent_purpose", v.purpose);
      } else add(k, v);
    });
    document.body.appendChild(plain);
    HTMLFormElement.prototype.submit.call(plain);
  }

  function panel(form) {
    var p = el("div", "baton-panel");
    p.setAttribute("role", "status");
    p.setAttribute("aria-live", "polite");
    p.appendChild(el("p", "baton-panel-title", "Thanks, we've got it."));
    p.appendChild(el("p", "baton-panel-body", "Finding the right person for you…"));
    form.setAttribute("hidden", "");
    form.insertAdjacentElement("afterend", p);
    return p;
  }

  function show(form, p, handoffUrl, answer) {
    var title = p.firstChild, body = p.lastChild, owner = answer && answer.owner;
    body.textContent = "";
    var link = function (href, text, booking) {
      var a = el("a", "baton-book", text);
      a.href = href; a.target = "_blank"; a.rel = "noopener";
      if (booking) a.addEventListener("click", function () {
        var url = endpoint + handoffUrl + "/booking";
        if (!(navigator.sendBeacon && navigator.sendBeacon(url))) fetch(url, { method: "POST", keepalive: true, mode: "no-cors" }).catch(function () {});
      });
      return a;
    };
    if (answer && answer.state === "assigned" && owner) {
      title.textContent = "You're with " + owner.name;
      if (owner.booking_url) {
        body.appendChild(document.createTextNode("Pick a time that suits you, while you are here. "));
        body.appendChild(link(owner.booking_url, "Book a time", true));
        p.setAttribute("data-state", "assigned");
        form.dispatchEvent(new CustomEvent("baton:handoff", { detail: answer }));
        return;
      }
      body.textContent = "They'll be in touch shortly. ";
    } else {
      title.textContent = "Thanks, we've got it.";
    }
    var team = cfg("fallback-url", "");
    if (team) body.appendChild(link(team, cfg("fallback-label", "Book a time with our team"), false));
    else if (!owner) body.textContent = cfg("thanks", "Thanks! We'll be in touch shortly.");
    p.setAttribute("data-state", "fallback");
    form.dispatchEvent(new CustomEvent("baton:fallback", { detail: answer || {} }));
  }

  function wait(ms) { return new Promise(function (r) { setTimeout(r, ms); }); }

  function follow(form, p, handoffUrl) {
    var until = Date.now() + patience;
    var ask = function () {
      if (Date.now() >= until) return show(form, p, handoffUrl, null);
      var left = Math.max(1, Math.min(8, Math.floor((until - Date.now()) / 1000)));
      return fetch(endpoint + handoffUrl + "?wait=" + left, { credentials: "omit" }).then(function (r) {
        if (r.status === 429) return wait(Number(r.headers.get("retry-after") || 5) * 1000).then(ask);
        if (!r.ok) return show(form, p, handoffUrl, null);
        return r.json().then(function (answer) {
          return answer.state === "routing" ? ask() : show(form, p, handoffUrl, answer);
        });
      }, function () { return wait(1000).then(ask); });
    };
    return ask();
  }

  function attach(form) {
    if (form.__baton) return;
    var state = form.__baton = { busy: false, done: false, body: null, key: null };
    form.addEventListener("submit", function (event) {
      if (state.passThrough) { state.passThrough = false; return; } // the form's own submission
      state.hostHandles = event.defaultPrevented;
      event.preventDefault();
      if (state.busy || state.done) return; // a double click is one submission
      state.submitter = event.submitter || null;
      if (!window.fetch || !key) return fallback(form, state);
      var body = JSON.stringify(lead(form));
      if (body !== state.body) { state.body = body; state.key = uuid(); } // a retry reuses its key
      state.busy = true;
      clearErrors(form);
      var controller = window.AbortController ? new AbortController() : null;
      var timer = controller && setTimeout(function () { controller.abort(); }, 8000);
      fetch(endpoint + "/leads", {
        method: "POST",
        headers: { "content-type": "application/json", "x-baton-key": key, "idempotency-key": state.key },
        body: body,
        credentials: "omit",
        signal: controller ? controller.signal : undefined
      }).then(function (r) {
        clearTimeout(timer);
        return r.json().catch(function () { return {}; }).then(function (answer) { return { r: r, answer: answer || {} }; });
      }).then(function (got) {
        var r = got.r, answer = got.answer;
        if (r.status === 202) {
          // Baton has the lead: from here on nothing is sent again, whatever happens.
          state.done = true;
          var p = panel(form);
          try { form.dispatchEvent(new CustomEvent("baton:captured", { detail: { lead_id: answer.lead_id } })); } catch (e) { /* a listener's error */ }
          var url = answer.handoff && answer.handoff.url;
          return (url ? follow(form, p, url) : Promise.resolve(show(form, p, "", null)))
            .catch(function () { show(form, p, url || "", null); });
        }
        state.busy = false;
        var standalone = form.hasAttribute("data-baton-standalone");
        if (r.status === 400 && answer.errors && showErrors(form, answer.errors, standalone)) return;
        fallback(form, state);
      }).catch(function () {
        clearTimeout(timer);
        state.busy = false;
        if (state.done) return;
        fallback(form, state); // Baton is unreachable: the page's own submission still happens
        try { form.dispatchEvent(new CustomEvent("baton:unreachable")); } catch (e) { /* a listener's error */ }
      });
    });
  }

  function start() {
    var selector = cfg("form", "");
    var forms = document.querySelectorAll(selector || "form[data-baton]");
    if (!forms.length && !selector) {
      forms = Array.prototype.filter.call(document.forms, function (f) {
        return f.querySelector("input[name=email], input[name=phone]");
      }).slice(0, 1);
    }
    Array.prototype.forEach.call(forms, attach);
    if (cfg("style", "") !== "none" && !document.getElementById("baton-style")) {
      var s = el("style", "", ".baton-error{display:block;color:#b3261e;font-size:.875em;margin:.25em 0}" +
        ".baton-errors{color:#b3261e;margin:0 0 .75em}[aria-invalid=true]{border-color:#b3261e}" +
        ".baton-panel{padding:1em 1.25em;border:1px solid #d0d7de;border-radius:8px}" +
        ".baton-panel-title{font-weight:600;margin:0 0 .5em}.baton-panel-body{margin:0}" +
        ".baton-book{display:inline-block;padding:.5em 1em;border-radius:6px;background:#1f6feb;color:#fff;text-decoration:none}");
      s.id = "baton-style";
      document.head.appendChild(s);
    }
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
