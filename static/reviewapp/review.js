/* Doppel review: one keystroke per action, four ways to compare, zoom and pan. Plain JS.

   Keyboard rules (WCAG 2.1.4): a letter shortcut never fires while the focus is in a text field,
   a select or an open dialog, and Space/Enter always belong to the focused button or link. A key
   that does not apply here says why in the alert live region instead of doing nothing.

   A decision (the decide form's buttons and keys, and the error dialog) is sent in the
   background: the same POST the form makes, to the same view, following its redirect to the next
   file's page; that page's content is then swapped into this one (its URL pushed to the history,
   its messages announced, the focus on its heading), instead of a full page load. Anything else
   (an HTTP error, a network failure, a page that is not a file view) falls back to what the form
   does without script. Undo stays a plain form submit: it carries no idempotency key, so it is
   never sent twice. */
(function () {
  "use strict";
  var busy = false;
  var SETTLE_MS = 300;  // how long a swapped-in file is shown before it takes a decision
  var page = null;  // the mounted page: its key handler and its teardown
  // The decision actions by key letter: {action, key, label, way: submit | dialog | undo-form, dialog},
  // rendered by the server from their one definition (reviewapp.models.DECISION_KEYS).
  var keysData = document.getElementById("decision-keys");
  var DECISION_KEYS = keysData ? JSON.parse(keysData.textContent) : {};
  function decisionFor(e) {
    var k = e.key.length === 1 ? e.key.toLowerCase() : "";
    return Object.prototype.hasOwnProperty.call(DECISION_KEYS, k) ? DECISION_KEYS[k] : null;
  }
  function decisionWhere(field, value) {
    for (var k in DECISION_KEYS) if (Object.prototype.hasOwnProperty.call(DECISION_KEYS, k) && DECISION_KEYS[k][field] === value) return DECISION_KEYS[k];
    return null;
  }
  function wayOf(way) { return decisionWhere("way", way); }

  function announce(text, kind) { if (window.Doppel) window.Doppel.announce(text, kind); }
  function refuse(text) { announce(text, "alert"); }

  function submitOnce(form, action) {
    if (busy || !form) return;
    busy = true;
    document.body.classList.add("submitting");
    announce("Sending…", "status");
    nativeSubmit(form, action);
  }
  function nativeSubmit(form, action) {
    if (action) {
      var hidden = document.createElement("input");
      hidden.type = "hidden"; hidden.name = "action"; hidden.value = action;
      form.appendChild(hidden);
    }
    form.submit();
  }

  // ----- decisions in the background, and the next file's page swapped in
  var here = function () { return window.location.pathname + window.location.search; };
  var shownUrl = here();
  // sessionStorage "doppel-review-swap" = "off" turns the swap off in this tab (every decision is
  // then a full page load, as without script): bench/bench_review_keys.py compares the two ways.
  function swapOn() {
    if (!(window.fetch && window.DOMParser && window.URLSearchParams && window.FormData && window.history && window.history.pushState)) return false;
    try { return window.sessionStorage.getItem("doppel-review-swap") !== "off"; } catch (e) { return true; }
  }
  function sendDecision(form, action) {
    if (busy || !form) return;
    if (!swapOn()) { submitOnce(form, action); return; }
    busy = true;
    document.body.classList.add("submitting");
    if (window.Doppel) window.Doppel.clear("alert");
    announce("Sending…", "status");
    var body = new URLSearchParams(new FormData(form));
    if (action) body.set("action", action);
    // the form's URL from its attribute: form.action would be its control named "action"
    var target = new URL(form.getAttribute("action") || "", window.location.href).href;
    fetch(target, { method: "POST", body: body, credentials: "same-origin", redirect: "follow" })
      .then(function (r) {
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.text().then(function (html) { return { url: r.url, html: html }; });
      })
      .then(function (res) {
        var doc = new DOMParser().parseFromString(res.html, "text/html");
        var to = new URL(res.url, window.location.href);
        if (doc.querySelector('.login input[name="password"]')) {
          // The session ended: the POST was answered with the login page, nothing was recorded.
          // Say so here, where the curator is, rather than landing on the login page unexplained.
          busy = false;
          document.body.classList.remove("submitting");
          refuse("Your session ended: the decision was not recorded. Sign in again.");
          return;
        }
        if (to.origin !== window.location.origin || !doc.getElementById("review") || !doc.getElementById("main")) {
          // not a file view (the queue is empty, the session ended): go there, with its messages
          if (window.Doppel) window.Doppel.carryMessages(doc);
          window.location.assign(to.href);
          return;
        }
        swapIn(doc, to);
      })
      .catch(function () {
        // The form's own way, with the same idempotency key: a decision the server already
        // recorded is not recorded twice, and an error page shows as it does without script.
        if (document.contains(form)) nativeSubmit(form, action);
        else window.location.reload();
      });
  }
  function swapIn(doc, to) {
    var main = document.getElementById("main");
    var fresh = doc.getElementById("main");
    var before = document.getElementById("review"), after = doc.getElementById("review");
    // another file (not the same one drawn again after a refusal) is shown before it takes a decision
    var another = !before || !after || before.dataset.item !== after.dataset.item;
    if (page) page.destroy();
    page = null;
    while (main.firstChild) main.removeChild(main.firstChild);
    while (fresh.firstChild) main.appendChild(document.adoptNode(fresh.firstChild));
    document.title = doc.title;
    var url = to.pathname + to.search;
    // a new history entry, as the form's POST and redirect make one; the same file again (a
    // refusal) replaces it
    if (url !== here()) window.history.pushState({ doppel: "review" }, "", url);
    else window.history.replaceState({ doppel: "review" }, "", url);
    shownUrl = url;
    busy = false;
    document.body.classList.remove("submitting");
    if (window.Doppel) { window.Doppel.enhance(main); window.Doppel.showMessages(window.Doppel.messagesOf(doc)); }
    page = mount(another);
    window.scrollTo(0, 0);
    // The focus goes where a screen reader user learns what changed: the new file's name (h1).
    var h1 = main.querySelector("h1");
    if (h1) { h1.setAttribute("tabindex", "-1"); h1.focus({ preventScroll: true }); }
    document.dispatchEvent(new CustomEvent("doppel:review-swapped", { detail: { url: url } }));
  }
  // Back and Forward after a swap: load that URL (looking at a file changes nothing on the server).
  window.addEventListener("popstate", function () { if (here() !== shownUrl) window.location.reload(); });

  function typing(e) {
    var t = e.target;
    return !!t && (t.isContentEditable || t.tagName === "TEXTAREA" || t.tagName === "SELECT" ||
      (t.tagName === "INPUT" && t.type !== "checkbox" && t.type !== "radio" && t.type !== "range"));
  }
  // Single-key shortcuts (WCAG 2.1.4): a curator can turn them off (the Keys dialog's switch, kept in this
  // browser), and they never act while focus is in the site's menu or header, where a letter pressed on a
  // link decided the file on screen.
  var SINGLE_KEYS = "doppel.singleKeys";
  function singleKeysOn() {
    try { return window.localStorage.getItem(SINGLE_KEYS) !== "off"; } catch (err) { return true; }
  }
  function outsideReview(e) {
    var t = e.target;
    return !!t && t !== document.body && !!t.closest && !!t.closest("header, nav, footer");
  }
  function pageKey(e) {
    if (e.key.length !== 1) return true;          // arrows and the like: not character keys
    return singleKeysOn() && !outsideReview(e);
  }
  // Space and Enter are the focused control's own keys: never a page shortcut.
  function ownKey(e) {
    if (e.key !== " " && e.key !== "Enter") return false;
    var t = e.target;
    return !!t && t !== document.body && t.matches("button, a[href], input, select, textarea, summary, [role=button], [tabindex]:not([tabindex=\"-1\"])");
  }
  function undo() {
    var undoForm = document.getElementById("undo-form");
    if (undoForm) submitOnce(undoForm);
    else refuse("Nothing to undo: you have no decision that can still be taken back.");
  }

  document.addEventListener("keydown", function (e) { if (page) page.onKey(e); });
  window.addEventListener("pointermove", function (e) { if (page && page.onPointerMove) page.onPointerMove(e); });
  window.addEventListener("pointerup", function () { if (page && page.onPointerUp) page.onPointerUp(); });

  // Wires up the page's content (on load, and again after each swap); returns its controller.
  function mount(swapped) {
    var root = document.getElementById("review");
    var dead = false;
    if (!root) {  // empty-queue page: only undo
      return {
        destroy: function () { dead = true; },
        onKey: function (e) {
          if (e.ctrlKey || e.metaKey || e.altKey || typing(e) || !pageKey(e)) return;
          var a = decisionFor(e);
          if (a && a.way === "undo-form") { e.preventDefault(); undo(); }
        }
      };
    }

    var readonly = root.dataset.readonly === "1";
    var form = document.getElementById("decide-form");
    // This script is what waits for both pictures before a decision marked "seen" (seenFor): it tells the
    // server so, as the curator's tick does without script (views.review.review_decide refuses the form's
    // approval without either).
    if (form && !form.querySelector('input[name="shown"]')) {
      var shownField = document.createElement("input");
      shownField.type = "hidden"; shownField.name = "shown"; shownField.value = "1";
      form.appendChild(shownField);
    }
    var viewer = document.getElementById("viewer");
    var errorAction = wayOf("dialog");  // log_error: its dialog asks for the category and a note
    var dialog = errorAction ? document.getElementById(errorAction.dialog) : null;
    var help = document.getElementById("help");

    // Prefetch the next file's images so the next page paints from cache, once this page's own
    // images are in (window load, or both images after a swap): fetching and decoding the next pair
    // must not slow this one down.
    function prefetchNext() {
      if (dead) return;
      (root.dataset.prefetch || "").split(" ").forEach(function (u) { if (u) { var i = new Image(); i.src = u; } });
    }
    // A file swapped in takes decisions only once it is shown: both images in and SETTLE_MS gone
    // by. A held-down key, a second press or a double click meant for the file before must not
    // decide this one unseen (a full page load gave that pause by itself).
    var settled = !swapped;
    if (settled) root.setAttribute("data-settled", "1");
    function shown() {
      if (settled) return true;
      refuse("The next file is still being shown: look at it, then decide.");
      return false;
    }
    // Both copies, and every picture of the view now shown (blink's and swipe's overlay, the heat-map): the
    // raw orientation (O) puts the kept copy as stored in #img-match while the aligned overlay may still be
    // being made (a second attack, stop 75).
    function picturesShown() {
      var need = Array.prototype.slice.call(root.querySelectorAll("#img-cleanup, #img-match"));
      if (viewer) Array.prototype.forEach.call(viewer.querySelectorAll(".pane"), function (p) {
        if (!p.getClientRects().length) return;  // a pane the current view hides
        Array.prototype.forEach.call(p.querySelectorAll("img"), function (i) {
          if (i.getAttribute("src") && need.indexOf(i) < 0) need.push(i);
        });
      });
      return need.every(function (i) { return i.complete && i.naturalWidth > 0 && !i.dataset.preparing; });
    }
    // A decision marked "seen" (approving a deletion) waits for both pictures to be shown, on any page: one
    // still being made ("Preparing this picture…") or given up on is not a picture the curator saw. The other
    // decisions lose nothing and stay open.
    function seenFor(action) {
      var a = decisionWhere("action", action);
      if (!a || !a.seen || picturesShown()) return true;
      refuse(a.label + " waits until both pictures are shown: look at them first, or decide another way.");
      return false;
    }
    if (swapped) {
      // Shown: each picture in, or its "Preparing this picture…" in its place (doppel.js: the image view
      // answered 503). The decisions that lose nothing may then be taken; approving a deletion waits for the
      // pictures themselves (seenFor). Waiting for them here held every decision up to minutes (a second
      // attack, stop 75).
      var images = Promise.all(Array.prototype.map.call(root.querySelectorAll("#img-cleanup, #img-match"), function (i) {
        return i.complete || i.dataset.preparing ? null : new Promise(function (ok) {
          i.addEventListener("load", ok, { once: true }); i.addEventListener("error", ok, { once: true });
        });
      }));
      images.then(prefetchNext);
      Promise.all([images, new Promise(function (ok) { setTimeout(ok, SETTLE_MS); })])
        .then(function () { if (!dead) { settled = true; root.setAttribute("data-settled", "1"); } });
    } else if (document.readyState === "complete") prefetchNext(); else window.addEventListener("load", prefetchNext, { once: true });

    // A button with aria-disabled stays focusable and, when pressed, says why it does nothing.
    function refusedBy(btn) { return btn && btn.getAttribute("aria-disabled") === "true" ? (btn.dataset.refused || "Not available here.") : ""; }
    document.querySelectorAll('button[aria-disabled="true"]').forEach(function (b) {
      b.addEventListener("click", function (e) { e.preventDefault(); e.stopImmediatePropagation(); refuse(refusedBy(b)); });
    });

    // ----- modes: toggle buttons, exactly one pressed
    var blinkTimer = null, blinkOn = false;
    function setMode(mode) {
      var btn = document.querySelector('.mode[data-mode="' + mode + '"]');
      if (!btn) return;
      if (refusedBy(btn)) { refuse(refusedBy(btn)); return; }
      viewer.className = "viewer mode-" + mode;
      document.querySelectorAll(".mode").forEach(function (b) {
        b.classList.toggle("on", b === btn);
        b.setAttribute("aria-pressed", b === btn ? "true" : "false");
      });
      clearInterval(blinkTimer); blinkTimer = null;
      var over = document.getElementById("ov-over");
      if (over) { over.style.clipPath = ""; over.style.opacity = ""; }
      if (mode === "blink") { blinkOn = false; flip(); blinkTimer = setInterval(flip, 600); }
      if (mode === "slider") { swipe(); }
      if (mode === "diff") {
        var d = document.getElementById("img-diff");
        if (d && !d.getAttribute("src")) d.setAttribute("src", d.dataset.src);
      }
      // what changed, said (B, W and H change only pixels); an earlier refusal no longer stands
      if (window.Doppel) window.Doppel.clear("alert");
      var name = btn.cloneNode(true);
      name.querySelectorAll("kbd").forEach(function (n) { n.remove(); });
      announce("View: " + name.textContent.trim() + ".", "status");
    }
    function flip() {
      var over = document.getElementById("ov-over");
      if (!over) return;
      blinkOn = !blinkOn;
      over.style.opacity = blinkOn ? "1" : "0";
      var lbl = document.getElementById("blink-side");
      if (lbl) lbl.textContent = blinkOn ? "kept copy" : "clean-up";
    }
    var range = document.getElementById("swipe");
    function swipe() {
      var over = document.getElementById("ov-over");
      if (!over || !range) return;
      var v = Number(range.value);
      over.style.opacity = "1";
      over.style.clipPath = "inset(0 0 0 " + v + "%)";
      var line = document.getElementById("swipe-line");
      if (line) line.style.left = v + "%";
    }
    if (range) range.addEventListener("input", swipe);
    document.querySelectorAll(".mode").forEach(function (b) {
      b.addEventListener("click", function () { setMode(b.dataset.mode); });
    });

    // ----- raw orientation toggle (the kept copy as stored, not rotated/mirrored into place)
    var raw = document.getElementById("raw-toggle");
    function setRaw(on) {
      var img = document.getElementById("img-match");
      if (!img || !viewer.dataset.raw) return;
      raw.checked = on;
      img.src = on ? viewer.dataset.raw : (viewer.dataset.aligned || viewer.dataset.raw);
      if (img.dataset.altRaw) img.alt = on ? img.dataset.altRaw : img.dataset.altAligned;
      viewer.classList.toggle("raw", on);
      var lbl = document.getElementById("orient-label");
      if (lbl) lbl.textContent = on ? "raw orientation" : "aligned";
    }
    if (raw) raw.addEventListener("change", function () { setRaw(raw.checked); });

    // ----- zoom and pan: one transform shared by every image, so both sides stay registered
    var z = 1, px = 0, py = 0;
    function apply() {
      viewer.style.setProperty("--z", z);
      viewer.style.setProperty("--px", px + "px");
      viewer.style.setProperty("--py", py + "px");
      var l = document.getElementById("zoom-level");
      if (l) l.textContent = Math.round(z * 100) + "%";
    }
    function zoom(f) { z = Math.min(16, Math.max(1, z * f)); if (z === 1) { px = 0; py = 0; } apply(); }
    document.querySelectorAll("[data-zoom]").forEach(function (b) {
      b.addEventListener("click", function () {
        if (b.dataset.zoom === "in") zoom(1.5); else if (b.dataset.zoom === "out") zoom(1 / 1.5); else { z = 1; px = 0; py = 0; apply(); }
      });
    });
    viewer.addEventListener("wheel", function (e) { e.preventDefault(); zoom(e.deltaY < 0 ? 1.25 : 0.8); }, { passive: false });
    var drag = null;
    viewer.addEventListener("pointerdown", function (e) {
      if (e.target.tagName === "INPUT") return;
      drag = { x: e.clientX, y: e.clientY, px: px, py: py };
    });
    function onPointerMove(e) {
      if (!drag) return;
      px = drag.px + (e.clientX - drag.x) / z; py = drag.py + (e.clientY - drag.y) / z; apply();
    }
    function onPointerUp() { drag = null; }

    // ----- dialogs: modal, focus moves in, and back to where it was when they close
    function openModal(d, focusEl) {
      if (!d || d.open) return;
      d.returnFocus = document.activeElement && document.activeElement !== document.body ? document.activeElement : null;
      d.showModal();
      if (focusEl) focusEl.focus();
    }
    // Tab and Shift+Tab cycle inside an open dialog (a native modal would let the focus leave for
    // the browser's own controls once it passes the last field).
    function trapFocus(d) {
      d.addEventListener("keydown", function (e) {
        if (e.key !== "Tab") return;
        var els = Array.prototype.filter.call(
          d.querySelectorAll("button, [href], input:not([type=hidden]), select, textarea, [tabindex]:not([tabindex='-1'])"),
          function (el) { return !el.disabled && el.offsetParent !== null; });
        if (!els.length) return;
        var first = els[0], last = els[els.length - 1];
        if (e.shiftKey && document.activeElement === first) { e.preventDefault(); last.focus(); }
        else if (!e.shiftKey && document.activeElement === last) { e.preventDefault(); first.focus(); }
      });
    }
    function restoreFocus(d, fallback) {
      var to = d.returnFocus && document.contains(d.returnFocus) ? d.returnFocus : fallback;
      d.returnFocus = null;
      if (to) to.focus();
    }
    if (dialog) trapFocus(dialog);
    if (help) trapFocus(help);
    var btnError = errorAction ? document.getElementById("btn-" + errorAction.dialog) : null;
    var btnHelp = document.getElementById("btn-help");

    function openError() {
      if (readonly || !dialog) { refuse("This file is not yours to decide: it is read-only here."); return; }
      openModal(dialog, document.getElementById("error-note"));
    }
    function closeError() { if (dialog && dialog.open) dialog.close("cancel"); }
    if (btnError) btnError.addEventListener("click", openError);
    var cancel = document.getElementById("error-cancel");
    if (cancel) cancel.addEventListener("click", closeError);
    var errForm = document.getElementById("error-form");
    if (dialog) {
      dialog.addEventListener("close", function () {
        if (busy || dead) return;
        announce("Error not logged: cancelled.", "status");
        restoreFocus(dialog, btnError);
      });
    }
    if (errForm) {
      // Submits only from its submit button (a real submit event) or Enter in the note field.
      errForm.addEventListener("submit", function (e) { e.preventDefault(); if (shown()) sendDecision(errForm); });
      var note = document.getElementById("error-note");
      if (note) note.addEventListener("keydown", function (e) {
        if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); if (!e.repeat && shown()) sendDecision(errForm); }
      });
    }
    // A button pressed with the mouse (or Enter/Space on it) takes the same way as its key.
    if (form) form.addEventListener("submit", function (e) {
      var b = e.submitter;
      e.preventDefault();
      if (b && refusedBy(b)) return;
      if (!shown()) return;
      if (b && b.name === "action" && !seenFor(b.value)) return;
      sendDecision(form, b && b.name === "action" ? b.value : "");
    });

    function toggleHelp(show) {
      if (!help) return;
      if (show === undefined) show = !help.open;
      if (show) openModal(help, document.getElementById("help-close")); else if (help.open) help.close();
    }
    if (help) help.addEventListener("close", function () { restoreFocus(help, btnHelp); });
    var keysSwitch = document.getElementById("single-keys");
    if (keysSwitch) {
      keysSwitch.checked = singleKeysOn();
      keysSwitch.addEventListener("change", function () {
        try { window.localStorage.setItem(SINGLE_KEYS, keysSwitch.checked ? "on" : "off"); } catch (err) { /* kept for this page only */ }
        announce(keysSwitch.checked ? "Single-key shortcuts are on." : "Single-key shortcuts are off: use the buttons, or turn them on again here.");
      });
    }
    if (btnHelp) btnHelp.addEventListener("click", function () { toggleHelp(true); });

    function onKey(e) {
      if (dead || e.ctrlKey || e.metaKey || e.altKey || e.defaultPrevented) return;
      if ((dialog && dialog.open) || (help && help.open)) {
        if (help && help.open && e.key === "?") { e.preventDefault(); help.close(); }
        return;  // a modal dialog owns the keyboard (Esc closes it natively)
      }
      if (typing(e) || ownKey(e) || !pageKey(e)) return;
      var k = e.key.length === 1 ? e.key.toLowerCase() : e.key;
      if (k === "?") { e.preventDefault(); toggleHelp(true); return; }
      var a = decisionFor(e);
      if (a) {
        e.preventDefault();
        if (e.repeat) return;  // a held-down key decides once, not once per repeat
        if (a.way === "undo-form") { undo(); return; }
        if (a.way === "dialog") { openError(); return; }
        if (readonly || !form) { refuse("This file is not yours to decide: it is read-only here."); return; }
        var b = form.querySelector('button[value="' + a.action + '"]');
        if (refusedBy(b)) { refuse(refusedBy(b)); return; }
        if (!shown() || !seenFor(a.action)) return;
        sendDecision(form, a.action);
        return;
      }
      if (k === "1") setMode("side");
      else if (k === "b") setMode("blink");
      else if (k === "w") setMode("slider");
      else if (k === "h") setMode("diff");
      else if (k === "o") {
        if (raw && !raw.disabled) setRaw(!raw.checked); else refuse("There is no kept copy to show as stored.");
      }
      else if (k === " " && viewer.classList.contains("mode-blink")) { e.preventDefault(); clearInterval(blinkTimer); blinkTimer = null; flip(); }
      else if (k === "+" || k === "=") zoom(1.5);
      else if (k === "-") zoom(1 / 1.5);
      else if (k === "0") { z = 1; px = 0; py = 0; apply(); }
      else if (k === "ArrowLeft" && z > 1) { px += 40 / z; apply(); }
      else if (k === "ArrowRight" && z > 1) { px -= 40 / z; apply(); }
      else if (k === "ArrowUp" && z > 1) { e.preventDefault(); py += 40 / z; apply(); }
      else if (k === "ArrowDown" && z > 1) { e.preventDefault(); py -= 40 / z; apply(); }
    }
    apply();
    return {
      onKey: onKey, onPointerMove: onPointerMove, onPointerUp: onPointerUp,
      destroy: function () {
        dead = true;
        clearInterval(blinkTimer); blinkTimer = null;
        drag = null;
      }
    };
  }

  page = mount(false);
  // A file page reached by a form's own submit (Undo, or a decision where the swap is off) says in its
  // messages what happened: the focus goes to the file's name, as after a swap, not to the page's top.
  if (window.Doppel && window.Doppel.loadedWithMessages) {
    var heading = document.querySelector("#review h1");
    if (heading) { heading.setAttribute("tabindex", "-1"); heading.focus({ preventScroll: true }); }
  }
})();
