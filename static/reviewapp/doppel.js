/* Doppel, every page: live-region announcements, pictures being prepared, broken-image marks and
   data-driven geometry.
   Templates carry no inline script, event handler or style attribute (the Content-Security-Policy
   refuses them); what they need lives here, driven by data-* attributes. */
(function () {
  "use strict";

  // Doppel.announce(text, "status" | "alert"): say an outcome in the page's live region.
  // Clearing first and writing on the next tick makes screen readers announce it even when the
  // same words were there before. A newer write to a region cancels one still waiting for its tick
  // (a "Sending…" must not land after the answer it was waiting for).
  var pending = {};
  function later(id, fn, ms) {
    window.clearTimeout(pending[id]);
    pending[id] = window.setTimeout(function () { delete pending[id]; fn(); }, ms);
  }
  function announce(text, kind) {
    var id = kind === "alert" ? "live-alert" : "live-status";
    var region = document.getElementById(id);
    if (!region) return;
    region.textContent = "";
    later(id, function () {
      var p = document.createElement("p");
      p.className = kind === "alert" ? "msg-error" : "msg-success";
      p.textContent = text;
      region.appendChild(p);
    }, 50);
  }

  // Doppel.clear("alert" | "status"): empty a live region (and drop a write still waiting), so an
  // old refusal does not stand in the alert region after the next action succeeded.
  function clear(kind) {
    var id = kind === "alert" ? "live-alert" : "live-status";
    window.clearTimeout(pending[id]);
    delete pending[id];
    var region = document.getElementById(id);
    if (region) region.textContent = "";
  }

  // The live regions' messages from another rendering of a page (a document fetched in the
  // background, or messages carried over a navigation): the regions are emptied now and filled on
  // a later tick, so screen readers announce them as they would on a fresh page.
  var CARRY = "doppel-carried-messages";
  function messagesOf(doc) {
    var out = [];
    ["live-status", "live-alert"].forEach(function (id) {
      var region = doc.getElementById(id);
      if (!region) return;
      Array.prototype.forEach.call(region.children, function (n) { out.push({ region: id, cls: n.className, text: n.textContent, id: n.id || "" }); });
    });
    return out;
  }
  function showMessages(list) {
    ["live-status", "live-alert"].forEach(function (id) {
      var region = document.getElementById(id);
      if (!region) return;
      region.textContent = "";
      later(id, function () {
        list.forEach(function (m) {
          if ((m.region === "live-alert" ? "live-alert" : "live-status") !== id) return;
          var p = document.createElement("p");
          p.className = m.cls;
          p.textContent = m.text;
          if (m.id) { p.id = m.id; p.tabIndex = -1; }
          region.appendChild(p);
        });
      }, 100);
    });
  }
  // A page that fetched a response in the background and then navigates to where it ended keeps
  // that response's messages (the server hands each out once) for the next page to show.
  function carryMessages(doc) {
    try { window.sessionStorage.setItem(CARRY, JSON.stringify(messagesOf(doc))); } catch (e) { /* shown nowhere: storage off */ }
  }
  // An automatic reload (autoRefresh below, live.js when the work finished) loses the focus and
  // says nothing. Before it, the element that had the focus (by id) is noted; after it, the focus
  // goes back there and, when the page no longer follows running work, what it finished with (the
  // page's [data-live-outcome] elements) is announced and starts the title.
  var RELOAD = "doppel-auto-reload";
  function reloadKeepingPlace() {
    var a = document.activeElement;
    try {
      window.sessionStorage.setItem(RELOAD, JSON.stringify({ url: window.location.href, focus: a && a !== document.body ? a.id || "" : "" }));
    } catch (e) { /* storage off: a plain reload */ }
    window.location.reload();
  }
  function afterAutoReload() {
    var noted = null;
    try {
      noted = JSON.parse(window.sessionStorage.getItem(RELOAD) || "null");
      window.sessionStorage.removeItem(RELOAD);
    } catch (e) { noted = null; }
    if (!noted || noted.url !== window.location.href) return;
    var el = noted.focus && document.getElementById(noted.focus);
    if (el) el.focus();
    var running = document.querySelector('meta[name="doppel-refresh"], [data-live-refresh][id]');
    if (running) return;
    var outcomes = document.querySelectorAll("[data-live-outcome]");
    // the control that had the focus went with the running work (pause, cancel): the focus goes
    // to what the work finished with instead of the top of the page
    if (!el && outcomes.length) { outcomes[0].setAttribute("tabindex", "-1"); outcomes[0].focus(); }
    var words = Array.prototype.map.call(outcomes,
      function (n) { return n.textContent.replace(/\s+/g, " ").trim(); }).filter(Boolean);
    var text = words.length ? "Finished: " + words.join(" ") : "The work this page followed has finished.";
    document.title = text + " – " + document.title;
    announce(text, "status");
  }

  window.Doppel = { announce: announce, clear: clear, reloadKeepingPlace: reloadKeepingPlace, messagesOf: messagesOf, showMessages: showMessages,
                    carryMessages: carryMessages, enhance: enhance };

  function markBroken(img) { img.classList.add("broken"); }

  // Pictures being prepared. The image views never make a picture inside the request: one not made
  // yet is queued for a worker and answered 503 with Retry-After. The <img> then fails; here it is
  // asked why (a HEAD request to the same URL), and while the answer is 503 the image is replaced by
  // "Preparing this picture…" (its alt text too, for screen readers), asked for again after
  // Retry-After a bounded number of times, and shown once it is there. The polite live region says
  // so once all the pictures the page was waiting for are in (one message, not one per thumbnail),
  // or that some could not be made. Without script the browser shows the alt text, as for any picture
  // that does not load.
  var PREPARE_TRIES = 30;        // about 3 1/2 minutes: 10 tries at Retry-After, then every 10 s
  var waited = { count: 0, outcomes: {}, lastAlt: "", lastWhy: "" };  // outcomes: by URL (one picture may be shown twice)
  function sameOrigin(url) {
    try { return new URL(url, window.location.href).origin === window.location.origin; } catch (e) { return false; }
  }
  function placeholderFor(img) {
    var ph = img.previousElementSibling;
    if (ph && ph.classList.contains("img-preparing")) return ph;
    ph = document.createElement("span");
    ph.className = "img-preparing";
    ph.setAttribute("data-testid", "img-preparing");
    var words = document.createElement("span");
    words.className = "img-preparing-words";
    var alt = document.createElement("span");
    alt.className = "visually-hidden";
    alt.textContent = img.alt ? " " + img.alt : "";
    ph.appendChild(words);
    ph.appendChild(alt);
    img.parentNode.insertBefore(ph, img);
    return ph;
  }
  function say(ph, text) { ph.querySelector(".img-preparing-words").textContent = text; }
  // One picture the page waited for is settled: ok true (in), false (could not be made), null (the page
  // showed another picture there meanwhile). Once none is left waiting, one announcement says how it went.
  function settled(ok, img, why) {
    waited.count -= 1;
    if (ok !== null) {
      waited.outcomes[img.getAttribute("src")] = ok;
      waited.lastAlt = img.alt || "";
      if (!ok) waited.lastWhy = why;
    }
    var urls = Object.keys(waited.outcomes), n = urls.length, text;
    if (waited.count > 0 || n === 0) return;
    var ready = urls.filter(function (u) { return waited.outcomes[u]; }).length, failed = n - ready;
    if (n === 1) text = ready ? "Picture ready" + (waited.lastAlt ? ": " + waited.lastAlt + "." : ".")
      : waited.lastWhy + (waited.lastAlt ? " (" + waited.lastAlt + ")" : "");
    else text = (ready ? ready + " of " + n + " pictures ready" : "None of " + n + " pictures could be prepared") +
      (ready && failed ? "; " + failed + " could not be prepared." : ".");
    waited.outcomes = {};
    announce(text, "status");
  }
  function prepare(img) {
    var src = img.getAttribute("src");
    if (!src || !sameOrigin(src) || !window.fetch || img.dataset.preparing) { markBroken(img); return; }
    img.dataset.preparing = "1";
    var tries = 0, shown = false, over = false, ph = null;
    function finish(ok, why) {
      over = true;
      delete img.dataset.preparing;
      if (ok === false) {
        markBroken(img);
        if (ph) { say(ph, why); ph.classList.add("failed"); }
      } else {
        img.classList.remove("is-preparing");
        if (ph) ph.remove();
        if (ok) img.classList.remove("broken");
      }
      if (shown) settled(ok, img, why);
    }
    // The page showed another picture here meanwhile (review.js's raw toggle) or took this one out
    // (the next file swapped in): stop asking. A new picture that failed meanwhile was not looked
    // at (this one held the <img>): it is now.
    function moved() {
      if (over) return true;
      if (img.isConnected && img.getAttribute("src") === src) return false;
      finish(null);
      if (img.isConnected && img.complete && img.getAttribute("src") && img.naturalWidth === 0) prepare(img);
      return true;
    }
    function show() {
      function done(e) {
        img.removeEventListener("load", done);
        img.removeEventListener("error", done);
        if (!moved()) finish(e.type === "load", "This picture could not be shown.");
      }
      img.addEventListener("load", done);
      img.addEventListener("error", done);
      img.setAttribute("src", src);  // the 503 was not kept (no-store): this asks the server again
    }
    function ask() {
      if (moved()) return;
      fetch(src, { method: "HEAD", credentials: "same-origin", cache: "no-store", redirect: "manual" })
        .then(function (r) {
          if (moved()) return;
          if (r.status === 503) {
            if (!shown) {
              shown = true;
              waited.count += 1;
              ph = placeholderFor(img);
              say(ph, "Preparing this picture…");
              img.classList.add("is-preparing");
            }
            tries += 1;
            if (tries > PREPARE_TRIES) { finish(false, "This picture is taking long to prepare: reload the page later."); return; }
            var after = parseInt(r.headers.get("Retry-After"), 10);
            after = Math.min(30, Math.max(1, isFinite(after) ? after : 2, tries > 10 ? 10 : 0));
            window.setTimeout(ask, after * 1000);
          } else if (r.ok || r.type === "opaqueredirect") {
            show();  // the bytes, or a signed storage URL (a redirect): in now
          } else {
            finish(false, r.status === 410 ? "This picture was removed by a legal takedown." : "No picture: the file does not decode, or is gone.");
          }
        })
        .catch(function () { if (!moved()) finish(false, "This picture could not be loaded."); });
    }
    ask();
  }
  // an <img> that fails before this script runs is caught by the scan in enhance(), later ones here
  document.addEventListener("error", function (e) {
    if (e.target && e.target.tagName === "IMG" && !e.target.dataset.preparing) prepare(e.target);
  }, true);

  // Pages that follow running work ask for a refresh with <meta name="doppel-refresh" content="N">.
  // Unlike <meta http-equiv="refresh">, the user can pause it (WCAG 2.2.1), and it never reloads
  // while they are in a form field or a dialog.
  function autoRefresh() {
    var meta = document.querySelector('meta[name="doppel-refresh"]');
    var main = document.getElementById("main");
    if (!meta || !main) return;
    var secs = Math.max(2, parseInt(meta.content, 10) || 5);
    var key = "doppel-refresh-paused";
    var paused = window.sessionStorage.getItem(key) === "1";
    var bar = document.createElement("p");
    bar.className = "autorefresh";
    bar.setAttribute("data-testid", "autorefresh");
    var text = document.createElement("span");
    var btn = document.createElement("button");
    btn.type = "button";
    btn.id = "autorefresh-toggle";
    btn.className = "secondary";
    function render() {
      text.textContent = paused ? "Automatic refresh is paused. " : "This page refreshes every " + secs + " s while work runs. ";
      btn.textContent = paused ? "Resume automatic refresh" : "Pause automatic refresh";
    }
    btn.addEventListener("click", function () {
      paused = !paused;
      window.sessionStorage.setItem(key, paused ? "1" : "0");
      render();
      announce(paused ? "Automatic refresh paused." : "Automatic refresh resumed.", "status");
    });
    render();
    bar.appendChild(text);
    bar.appendChild(btn);
    main.insertBefore(bar, main.firstChild);
    // A page whose running part updates itself in place (live.js, [data-live-refresh]) is not
    // reloaded here: live.js reads the same pause state before each poll.
    if (document.querySelector("[data-live-refresh][id]")) return;
    window.setInterval(function () {
      var a = document.activeElement;
      if (paused || document.querySelector("dialog[open]") || (a && a.matches("input, select, textarea"))) return;
      reloadKeepingPlace();
    }, secs * 1000);
  }

  // What a piece of server-rendered HTML needs from script once it is in the page: broken-image
  // marks and geometry. Runs on load for the whole page and on content a page swaps in.
  function enhance(scope) {
    scope.querySelectorAll("img").forEach(function (img) {
      if (img.complete && img.getAttribute("src") && img.naturalWidth === 0 && !img.dataset.preparing) prepare(img);
    });
    // Geometry from data attributes (percentages computed by the server), set through the CSSOM.
    scope.querySelectorAll("[data-box-top]").forEach(function (el) {
      el.style.top = el.dataset.boxTop;
      el.style.left = el.dataset.boxLeft;
      el.style.width = el.dataset.boxWidth;
      el.style.height = el.dataset.boxHeight;
    });
    scope.querySelectorAll("[data-percent]").forEach(function (el) {
      var v = parseFloat(el.dataset.percent);
      el.style.width = (isFinite(v) ? Math.min(100, Math.max(0, v)) : 0) + "%";
    });
  }

  // A form the server refused (the summary in the alert region, see _live.html): the focus goes to
  // its first invalid field, or to the summary when no field is marked, not to the top of the page.
  function focusFormError() {
    if (!document.getElementById("form-error-summary")) return;
    var field = document.querySelector('#main [aria-invalid="true"]');
    if (field) { field.focus(); return; }
    // the summary is written again on a later tick (showMessages): focus the new one
    window.setTimeout(function () {
      var summary = document.getElementById("form-error-summary");
      if (summary) summary.focus();
    }, 200);
  }

  function ready() {
    autoRefresh();
    focusFormError();
    // Messages the server rendered into the live regions were in the page before assistive
    // technology attached to it: put them back in so they are read out (with any carried over).
    var carried = [];
    try {
      carried = JSON.parse(window.sessionStorage.getItem(CARRY) || "[]");
      window.sessionStorage.removeItem(CARRY);
    } catch (e) { carried = []; }
    var here = messagesOf(document).concat(Array.isArray(carried) ? carried : []);
    window.Doppel.loadedWithMessages = here.length > 0;
    if (here.length) showMessages(here);
    enhance(document);
    afterAutoReload();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", ready); else ready();
})();
