/* Live job progress without inline script (CSP) and without reloading the whole page.
   An element with data-live-refresh="SECONDS" is re-fetched from the same URL every SECONDS and
   swapped for its fresh copy (found by id). When the fresh copy has no data-live-refresh, the work
   it shows has finished: polling stops and the page is reloaded once, so the actions, events and
   messages around it are current too. The pause button that doppel.js shows for the page
   (WCAG 2.2.1) stops the polling: its state is read before each poll. */
(function () {
  "use strict";
  function watch(el) {
    var seconds = parseFloat(el.getAttribute("data-live-refresh")) || 5;
    var lastSaid = el.getAttribute("data-live-say"), saidAt = Date.now();
    var timer = setInterval(function () {
      if (window.sessionStorage.getItem("doppel-refresh-paused") === "1") { return; }
      fetch(window.location.href, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
        .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
        .then(function (html) {
          var fresh = new DOMParser().parseFromString(html, "text/html").getElementById(el.id);
          if (!fresh) { return; }
          el.innerHTML = fresh.innerHTML;
          // progress in words, now and then, in the status region (the bar alone says nothing)
          var say = fresh.getAttribute("data-live-say");
          if (say && say !== lastSaid && Date.now() - saidAt >= 15000 && window.Doppel) {
            lastSaid = say; saidAt = Date.now();
            window.Doppel.announce(say, "status");
          }
          if (!fresh.hasAttribute("data-live-refresh")) {
            clearInterval(timer);
            // doppel.js notes the focus, brings it back and announces the outcome after the reload
            if (window.Doppel && window.Doppel.reloadKeepingPlace) window.Doppel.reloadKeepingPlace();
            else window.location.reload();
            return;
          }
        })
        .catch(function () { /* a missed poll is retried on the next tick */ });
    }, seconds * 1000);
  }
  document.querySelectorAll("[data-live-refresh][id]").forEach(watch);
})();
