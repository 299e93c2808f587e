/* Doppel review: one keystroke per action, four ways to compare, zoom and pan. Plain JS. */
(function () {
  "use strict";
  var root = document.getElementById("review");
  var undoForm = document.getElementById("undo-form");
  var busy = false;

  function submitOnce(form, action) {
    if (busy || !form) return;
    busy = true;
    if (action) {
      var hidden = document.createElement("input");
      hidden.type = "hidden"; hidden.name = "action"; hidden.value = action;
      form.appendChild(hidden);
    }
    document.body.classList.add("submitting");
    form.submit();
  }

  function typing(e) {
    var t = e.target;
    return t && (t.tagName === "INPUT" && t.type !== "checkbox" && t.type !== "range" || t.tagName === "TEXTAREA" || t.tagName === "SELECT");
  }

  if (!root) {  // empty-queue page: only undo
    document.addEventListener("keydown", function (e) {
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      if ((e.key === "u" || e.key === "U") && undoForm) { e.preventDefault(); submitOnce(undoForm); }
    });
    return;
  }

  var readonly = root.dataset.readonly === "1";
  var form = document.getElementById("decide-form");
  var viewer = document.getElementById("viewer");
  var dialog = document.getElementById("error-dialog");
  var help = document.getElementById("help");

  // Prefetch the next file's images so the next page paints from cache.
  (root.dataset.prefetch || "").split(" ").forEach(function (u) { if (u) { var i = new Image(); i.src = u; } });

  // ----- modes
  var blinkTimer = null, blinkOn = false;
  function setMode(mode) {
    var btn = document.querySelector('.mode[data-mode="' + mode + '"]');
    if (!btn || btn.disabled) return;
    viewer.className = "viewer mode-" + mode;
    document.querySelectorAll(".mode").forEach(function (b) { b.classList.toggle("on", b === btn); });
    clearInterval(blinkTimer); blinkTimer = null;
    var over = document.getElementById("ov-over");
    if (over) { over.style.clipPath = ""; over.style.opacity = ""; }
    if (mode === "blink") { blinkOn = false; flip(); blinkTimer = setInterval(flip, 600); }
    if (mode === "slider") { swipe(); }
    if (mode === "diff") {
      var d = document.getElementById("img-diff");
      if (d && !d.getAttribute("src")) d.setAttribute("src", d.dataset.src);
    }
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
  window.addEventListener("pointermove", function (e) {
    if (!drag) return;
    px = drag.px + (e.clientX - drag.x) / z; py = drag.py + (e.clientY - drag.y) / z; apply();
  });
  window.addEventListener("pointerup", function () { drag = null; });

  // ----- actions
  function openError() {
    if (readonly || !dialog) return;
    if (dialog.showModal) dialog.showModal(); else dialog.setAttribute("open", "");
    var note = document.getElementById("error-note");
    if (note) note.focus();
  }
  function closeError() { if (dialog && dialog.open) dialog.close(); }
  var btnError = document.getElementById("btn-error");
  if (btnError) btnError.addEventListener("click", openError);
  var cancel = document.getElementById("error-cancel");
  if (cancel) cancel.addEventListener("click", closeError);
  var errForm = document.getElementById("error-form");
  if (errForm) {
    errForm.addEventListener("submit", function (e) { e.preventDefault(); submitOnce(errForm); });
    errForm.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); submitOnce(errForm); }
    });
  }
  if (form) form.addEventListener("submit", function () { busy = true; document.body.classList.add("submitting"); });
  function toggleHelp(show) { help.hidden = show === undefined ? !help.hidden : !show; }
  var btnHelp = document.getElementById("btn-help");
  if (btnHelp) btnHelp.addEventListener("click", function () { toggleHelp(); });

  var ACTION_KEYS = { d: "approve_delete", n: "not_duplicate", r: "reingest", s: "skip" };
  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (dialog && dialog.open) { if (e.key === "Escape") closeError(); return; }
    if (typing(e)) return;
    var k = e.key.length === 1 ? e.key.toLowerCase() : e.key;
    if (k === "?" ) { e.preventDefault(); toggleHelp(); return; }
    if (k === "Escape") { toggleHelp(false); return; }
    if (ACTION_KEYS[k] && form && !readonly) {
      var b = form.querySelector('button[value="' + ACTION_KEYS[k] + '"]');
      if (b && !b.disabled) { e.preventDefault(); submitOnce(form, ACTION_KEYS[k]); }
      return;
    }
    if (k === "e") { e.preventDefault(); openError(); return; }
    if (k === "u" && undoForm) { e.preventDefault(); submitOnce(undoForm); return; }
    if (k === "1") setMode("side");
    else if (k === "b") setMode("blink");
    else if (k === "w") setMode("slider");
    else if (k === "h") setMode("diff");
    else if (k === "o" && raw && !raw.disabled) setRaw(!raw.checked);
    else if (k === " " && viewer.classList.contains("mode-blink")) { e.preventDefault(); clearInterval(blinkTimer); blinkTimer = null; flip(); }
    else if (k === "+" || k === "=") zoom(1.5);
    else if (k === "-") zoom(1 / 1.5);
    else if (k === "0") { z = 1; px = 0; py = 0; apply(); }
    else if (k === "ArrowLeft" && z > 1) { px += 40 / z; apply(); }
    else if (k === "ArrowRight" && z > 1) { px -= 40 / z; apply(); }
    else if (k === "ArrowUp" && z > 1) { e.preventDefault(); py += 40 / z; apply(); }
    else if (k === "ArrowDown" && z > 1) { e.preventDefault(); py -= 40 / z; apply(); }
  });
  apply();
})();
