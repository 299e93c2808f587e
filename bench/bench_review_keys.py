"""Keyboard review speed in a real browser: 100 decisions by key (D, or N where D is refused) in
headless Chromium against `make run`'s server (manage.py doppel_run: runserver + background worker,
SQLite, DEBUG=1), on the demo collection enlarged for it (about 120 clean-up files).

For each decision it reports, p50/p95/max:
  key → drawn   from the keydown event (its own timestamp) to the next file's page with both
                images decoded and a frame painted (requestAnimationFrame after img.decode()),
                both read from the browser's clock (performance.timeOrigin + now), measured in the
                page itself (a script Playwright adds to every page, started by the page's
                DOMContentLoaded or by review.js's "doppel:review-swapped" event);
  server        the part of that the server and loopback took: the decision POST and its
                redirect (redirectEnd - redirectStart) plus the next page's request to first byte
                (responseStart - requestStart), from the Navigation Timing of the new page, or from
                the Resource Timing of review.js's background POST when it swapped the page in.
Goal: key → drawn p95 <= 300 ms.

Two ways of moving on, chosen per tab (sessionStorage "doppel-review-swap"): "swap" (what curators
get: review.js sends the decision in the background and swaps the next file's page in) and
"navigate" (the form's full page load, as without script). --modes swap,navigate alternates them in
blocks of 10 decisions in one run, so both are measured under the same load; --decisions is per mode.

A curator looks at a pair before deciding: each decision waits THINK seconds after the page is
drawn (DOPPEL_BENCH_THINK, default 0.8 s), which is also when the page's prefetch of the next
file's images runs. THINK=0 measures a curator who never looks.

With --screenshots it also writes screenshots of the file view, one per verdict, at 1440x900 and
1280x720, to docs/screenshots/ (PNG, reduced to a 128-colour palette to stay small): the ones the
README shows. `make bench` runs it without, so a benchmark run never changes the docs.

Needs Chromium at /usr/bin/chromium (DOPPEL_CHROMIUM) and the playwright package; never downloads a
browser. Everything lives in a temporary directory that is removed afterwards. Runtime: about
3 minutes (2 of them loading and analysing the enlarged demo); with
--modes swap,navigate (200 decisions on 210 files) about 7.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CHROMIUM = os.environ.get("DOPPEL_CHROMIUM", "/usr/bin/chromium")
SHOTS = ROOT / "docs" / "screenshots"
GOAL_MS = 300
VIEWPORTS = [(1440, 900), (1280, 720)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def p(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100.0 * (len(values) - 1))))]


def enlarge_demo(root: Path, extra: int) -> int:
    """The demo collection plus `extra` clean-up copies of its intact canonical pictures, made the
    ways real clean-ups hold them (re-encoded under the ID, resized under a camera name, turned,
    mirrored, PNG); returns the number of clean-up files."""
    from PIL import Image

    from reviewapp import demo

    demo.generate(root)
    cleanup = root / "cleanup"
    kinds = ["reencoded", "resized", "turned", "mirrored", "png"]
    made = 0
    n = 0
    while made < extra:
        name = demo.PHOTOS[(n // 2) % 10]
        crop = n % 2
        ident = 1001 + (n % 20)
        img = demo._photo(name, crop)
        kind = kinds[(made // 20) % len(kinds)]
        if kind == "reencoded":
            demo._save(img, cleanup / f"C{ident}x{made}.jpg", quality=75)
        elif kind == "resized":
            small = img.resize((int(img.width * 0.5), int(img.height * 0.5)), Image.LANCZOS)
            demo._save(small, cleanup / f"IMG_{6000 + made}.jpg")
        elif kind == "turned":
            demo._save(img.rotate(270, expand=True), cleanup / f"IMG_{7000 + made}.jpg")
        elif kind == "mirrored":
            demo._save(img.transpose(Image.Transpose.FLIP_LEFT_RIGHT), cleanup / f"scan_{1000 + made}.png")
        else:
            demo._save(img, cleanup / f"C{ident}p{made}.png")
        made += 1
        n += 1
    return sum(1 for _ in cleanup.iterdir())


def manage(env, *args, timeout=900):
    out = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=timeout)
    if out.returncode != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    return out.stdout


def set_password(env, username, password):
    code = ("from django.contrib.auth import get_user_model\n"
            f"u = get_user_model().objects.get(username={username!r}); u.set_password({password!r}); u.save()\n")
    manage(env, "shell", "-c", code)


def start_server(env, port, log: Path):
    proc = subprocess.Popen([sys.executable, "manage.py", "doppel_run", "--port", str(port), "--concurrency", "1"],
                            cwd=ROOT, env=env, stdout=open(log, "wb"), stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.time() + 90
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"doppel_run exited:\n{log.read_text()[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc
        except OSError:
            time.sleep(0.3)
    os.killpg(proc.pid, signal.SIGKILL)
    raise SystemExit("doppel_run did not listen within 90 s")


# Before each key press: forget the last measurement, choose the way of moving on, note the key.
KEY_HOOK = """(mode) => {
  window.__benchDrawn = null;
  sessionStorage.removeItem('bench-key-at');
  performance.clearResourceTimings();
  if (mode === 'navigate') sessionStorage.setItem('doppel-review-swap', 'off');
  else sessionStorage.removeItem('doppel-review-swap');
  document.addEventListener('keydown', e => {
    sessionStorage.setItem('bench-key-at', String(performance.timeOrigin + e.timeStamp));
  }, {capture: true, once: true});
}"""

# In every page (an init script): once the next file's page is there (DOMContentLoaded of a full
# page load, or review.js's swap event), measure as DRAWN does and leave the result for the bench.
MEASURE_HOOK = """(() => {
  const measure = async (how) => {
    const drawn = await (%s)();
    let server = drawn.server, detail = drawn.detail;
    if (how === 'swap') {
      const f = performance.getEntriesByType('resource')
        .filter(r => r.initiatorType === 'fetch' && r.name.includes('/decide/')).pop();
      server = f ? (f.redirectEnd - f.redirectStart) + (f.responseStart - f.requestStart) : NaN;
      detail = {...detail, fetch: f ? {start: f.startTime, redirect_start: f.redirectStart, redirect_end: f.redirectEnd,
                fetch_start: f.fetchStart, connect_start: f.connectStart, connect_end: f.connectEnd,
                request_start: f.requestStart, response_start: f.responseStart, response_end: f.responseEnd,
                bytes: f.encodedBodySize} : null};
    }
    window.__benchDrawn = {...drawn, how, server, detail};
  };
  document.addEventListener('DOMContentLoaded', () => {
    if (sessionStorage.getItem('bench-key-at')) measure('navigation');
  });
  document.addEventListener('doppel:review-swapped', () => measure('swap'));
})();"""

# Resolves once every image the file view shows is decoded and a frame with them was painted.
DRAWN = """async () => {
  const imgs = [...document.querySelectorAll('#img-cleanup, #img-match')];
  await Promise.all(imgs.map(i => (i.complete && i.naturalWidth > 0) ? Promise.resolve()
    : new Promise((ok, bad) => { i.addEventListener('load', ok, {once: true}); i.addEventListener('error', ok, {once: true}); })));
  await Promise.all(imgs.map(i => i.decode().catch(() => null)));
  await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  const nav = performance.getEntriesByType('navigation')[0];
  return {drawn: performance.timeOrigin + performance.now(),
          key: Number(sessionStorage.getItem('bench-key-at') || 0),
          server: (nav.redirectEnd - nav.redirectStart) + (nav.responseStart - nav.requestStart),
          redirected: nav.redirectCount, broken: imgs.filter(i => !i.naturalWidth).length,
          detail: {redirect: nav.redirectEnd - nav.redirectStart, ttfb: nav.responseStart - nav.requestStart,
                   response_end: nav.responseEnd, dcl: nav.domContentLoadedEventEnd, now: performance.now(),
                   key_before_origin: performance.timeOrigin - Number(sessionStorage.getItem('bench-key-at') || 0),
                   images: performance.getEntriesByType('resource').filter(r => r.initiatorType === 'img')
                     .map(r => [r.name.split('/images/')[1], Math.round(r.startTime), Math.round(r.duration), r.transferSize])}};
}"""


def small_png(png: bytes, path: Path):
    """A screenshot as a palette PNG (128 colours): a fraction of the size, text still sharp."""
    import io

    from PIL import Image

    img = Image.open(io.BytesIO(png)).convert("RGB")
    img.quantize(colors=128, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(path, optimize=True)


def run_browser(url, decisions, think, screenshots, modes):
    from playwright.sync_api import sync_playwright

    args = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
    samples, verdicts_shot, keys = [], {}, {"d": 0, "n": 0}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
        ctx = browser.new_context(viewport={"width": VIEWPORTS[0][0], "height": VIEWPORTS[0][1]})
        ctx.add_init_script(MEASURE_HOOK % DRAWN)
        page = ctx.new_page()
        page.set_default_timeout(30000)
        page.on("pageerror", lambda e: print("page error:", e, file=sys.stderr))
        page.on("console", lambda m: m.type == "error" and print("console error:", m.text, file=sys.stderr))
        page.goto(f"{url}/accounts/login/")
        page.fill("#id_username", "curator")
        page.fill("#id_password", "bench-pass-1")
        page.click("button[type=submit]")
        page.goto(f"{url}/review/")
        page.click("#start-review")
        page.wait_for_selector("#review")
        page.evaluate(DRAWN)
        small = None
        if screenshots:
            small = browser.new_context(viewport={"width": VIEWPORTS[1][0], "height": VIEWPORTS[1][1]},
                                        storage_state=ctx.storage_state()).new_page()
        while len(samples) < decisions * len(modes):
            mode = modes[(len(samples) // 10) % len(modes)]
            item = page.locator("#review").get_attribute("data-item")
            verdict = page.locator('[data-testid="verdict"]').get_attribute("class").split("v-", 1)[1].split()[0]
            if screenshots and verdict not in verdicts_shot:
                SHOTS.mkdir(parents=True, exist_ok=True)
                names = []
                for (w, h), pg in zip(VIEWPORTS, (page, small)):
                    if pg is small:
                        pg.goto(page.url)
                        pg.wait_for_selector("#review")
                        pg.evaluate(DRAWN)
                    name = f"file-view-{verdict}-{w}x{h}.png"
                    small_png(pg.screenshot(), SHOTS / name)
                    names.append(name)
                verdicts_shot[verdict] = names
            time.sleep(think)
            page.wait_for_selector("#review[data-settled='1']")  # a swapped-in file takes keys once shown
            refused = page.locator('#decide-form button[value="approve_delete"]').get_attribute("aria-disabled") == "true"
            key = "n" if refused else "d"
            page.evaluate(KEY_HOOK, mode)
            page.keyboard.press(key)
            page.wait_for_function("() => !!window.__benchDrawn")
            if page.locator("#review").count() == 0:
                break  # the queue is empty
            got = page.evaluate("() => window.__benchDrawn")
            if got["how"] != ("swap" if mode == "swap" else "navigation"):
                raise SystemExit(f"asked to {mode}, the page did a {got['how']}")
            if page.locator("#review").get_attribute("data-item") == item:
                raise SystemExit(f"the decision on item {item} did not move on: {page.url}")
            keys[key] += 1
            samples.append({"total": got["drawn"] - got["key"], "server": got["server"], "broken": got["broken"],
                            "verdict": verdict, "key": key, "mode": mode, "detail": got["detail"]})
        browser.close()
    return samples, verdicts_shot, keys


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--decisions", type=int, default=100)
    ap.add_argument("--extra", type=int, default=100,
                    help="clean-up copies added to the demo's 22 (at least enough for every decision)")
    ap.add_argument("--modes", default="swap",
                    help="comma-separated: swap (in-page, the default), navigate (full page load); "
                         "two alternate in blocks of 10 decisions")
    ap.add_argument("--think", type=float, default=float(os.environ.get("DOPPEL_BENCH_THINK", "0.8")))
    ap.add_argument("--screenshots", action="store_true", help="(re)write docs/screenshots/file-view-*.png")
    ap.add_argument("--json", help="also write the samples here")
    opts = ap.parse_args()
    modes = [m.strip() for m in opts.modes.split(",") if m.strip()]
    if not modes or set(modes) - {"swap", "navigate"}:
        ap.error("--modes takes swap and/or navigate")
    opts.extra = max(opts.extra, opts.decisions * len(modes) + 10 - 22)
    if not Path(CHROMIUM).exists():
        print(f"no Chromium at {CHROMIUM} (set DOPPEL_CHROMIUM); skipped")
        return 0
    tmp = Path(tempfile.mkdtemp(prefix="doppel-bench-keys-"))
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
    env = {**{k: os.environ[k] for k in keep if k in os.environ}, "DEBUG": "1", "DOPPEL_VAR_DIR": str(tmp / "var"),
           "PYTHONUNBUFFERED": "1"}
    server = None
    try:
        started = time.monotonic()
        manage(env, "migrate", "--noinput")
        os.environ.update(env)
        os.environ["DJANGO_SETTINGS_MODULE"] = "reviewapp.settings"
        n_files = enlarge_demo(tmp / "var" / "sources" / "demo", opts.extra)
        manage(env, "doppel_demo", "--no-progress")
        set_password(env, "curator", "bench-pass-1")
        print(f"demo enlarged to {n_files} clean-up files, loaded and analysed in {time.monotonic() - started:.0f} s")
        port = free_port()
        server = start_server(env, port, tmp / "doppel_run.out")
        samples, shots, keys = run_browser(f"http://127.0.0.1:{port}", opts.decisions, opts.think,
                                           opts.screenshots, modes)
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
        shutil.rmtree(tmp, ignore_errors=True)
    load = os.getloadavg()
    print(f"{len(samples)} keyboard decisions (D {keys['d']}, N {keys['n']}), think time {opts.think:.1f} s, "
          f"viewport {VIEWPORTS[0][0]}x{VIEWPORTS[0][1]}; {os.cpu_count()} CPUs, load average at the end "
          f"{load[0]:.1f} / {load[1]:.1f} (browser, server, worker and anything else share them)")
    print("| way | decisions | key press → next pair drawn p50 | p95 | max | server p50 | p95 |")
    print("|---|---|---|---|---|---|---|")
    for mode in modes:
        mine = [s for s in samples if s["mode"] == mode]
        if not mine:
            continue
        total = [s["total"] for s in mine]
        server_ms = [s["server"] for s in mine]
        print(f"| {mode} | {len(mine)} | {statistics.median(total):.0f} ms | {p(total, 95):.0f} ms | {max(total):.0f} ms "
              f"| {statistics.median(server_ms):.0f} ms | {p(server_ms, 95):.0f} ms |")
    broken = sum(s["broken"] for s in samples)
    for mode in modes:
        total = [s["total"] for s in samples if s["mode"] == mode]
        if total:
            verdict = "meets" if p(total, 95) <= GOAL_MS else "MISSES"
            print(f"goal ({mode}): key → drawn p95 <= {GOAL_MS} ms: {verdict} ({p(total, 95):.0f} ms)")
    print(f"images that failed to load: {broken}")
    if shots:
        print("screenshots: " + ", ".join(f"docs/screenshots/{n}" for names in shots.values() for n in names))
    if opts.json:
        Path(opts.json).write_text(json.dumps(samples, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
