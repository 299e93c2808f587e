/* Doppel, every page: live-region announcements, broken-image marks and data-driven geometry.
   Templates carry no inline script, event handler or style attribute (the Content-Security-Policy
   refuses them); what they need lives here, driven by data-* attributes. */
(function () {
  "use strict";

  // Doppel.announce(text, "status" | "alert"): say an outcome in the page's live region.
  // Clearing first and writing on the next tick makes screen readers announce it even when the
  // same words were there before.
  function announce(text, kind) {
    var region = document.getElementById(kind === "alert" ? "live-alert" : "live-status");
    if (!region) return;
    region.textContent = "";
    window.setTimeout(function () {
      var p = document.createElement("p");
      p.className = kind === "alert" ? "msg-error" : "msg-success";
      p.textContent = text;
      region.appendChild(p);
    }, 50);
  }
  window.Doppel = { announce: announce };

  function markBroken(img) { img.classList.add("broken"); }
  // an <img> that fails before this script runs is caught by the scan below, later ones here
  document.addEventListener("error", function (e) {
    if (e.target && e.target.tagName === "IMG") markBroken(e.target);
  }, true);

  function ready() {
    // Messages the server rendered into the live regions were in the page before assistive
    // technology attached to it: put them back in so they are read out.
    ["live-status", "live-alert"].forEach(function (id) {
      var region = document.getElementById(id);
      if (!region || !region.children.length) return;
      var nodes = Array.prototype.slice.call(region.children);
      region.textContent = "";
      window.setTimeout(function () { nodes.forEach(function (n) { region.appendChild(n); }); }, 100);
    });
    document.querySelectorAll("img").forEach(function (img) {
      if (img.complete && img.getAttribute("src") && img.naturalWidth === 0) markBroken(img);
    });
    // Geometry from data attributes (percentages computed by the server), set through the CSSOM.
    document.querySelectorAll("[data-box-top]").forEach(function (el) {
      el.style.top = el.dataset.boxTop;
      el.style.left = el.dataset.boxLeft;
      el.style.width = el.dataset.boxWidth;
      el.style.height = el.dataset.boxHeight;
    });
    document.querySelectorAll("[data-percent]").forEach(function (el) {
      var v = parseFloat(el.dataset.percent);
      el.style.width = (isFinite(v) ? Math.min(100, Math.max(0, v)) : 0) + "%";
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", ready); else ready();
})();
