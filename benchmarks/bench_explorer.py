"""Benchmark: the browser explorer's slider-to-redraw latency, and what it is made of.

Starts ``tgsim explore --web`` (from this checkout, or from ``--checkout DIR`` to compare
another one), opens it in headless Chromium, picks an immunotherapy with swelling (a
treated simulation and a RECIST/iRECIST reading per change) and sets the growth-rate
slider in the page, as the browser test does. For each change it times, in the page:

* **data**: from the slider change to the new curve arriving from the server;
* **redraw**: to two animation frames after that (the curve drawn).

Changes are made back to back (the next as soon as the last is drawn) and with a pause
of 0.3 s between them (a student dragging slowly). It also reports the CPU time used per
change by the server process and by the browser's processes (psutil), which a loaded
machine changes far less than wall-clock times.

Needs the ``web`` extra, selenium, and Debian's ``chromium`` and ``chromium-driver``;
the CPU times need psutil (installed with the ``dask`` extra), and are left out without it.

Run:  python benchmarks/bench_explorer.py [--changes 40] [--checkout DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time

READY = """
const d = window.Bokeh && Bokeh.documents && Bokeh.documents[0];
if (!d) return false;
const s = d.get_model_by_name('volume');
return !!(s && s.data.v && s.data.v.length > 0);
"""
# the browser test's measurement, with the arrival of the data timed as well
LATENCY = """
const done = arguments[arguments.length - 1];
const doc = Bokeh.documents[0];
const slider = doc.get_model_by_name('growth_rate');
const src = doc.get_model_by_name('volume');
const before = src.data.v;
const t0 = performance.now();
slider.value = arguments[0];
function poll() {
  if (src.data.v !== before) {
    const data = performance.now() - t0;
    requestAnimationFrame(() => requestAnimationFrame(() => done([data, performance.now() - t0])));
  } else if (performance.now() - t0 > 60000) { done([-1, -1]); } else { setTimeout(poll, 1); }
}
poll();
"""
PICK_SWELLING = """
const doc = Bokeh.documents[0];
const keys = doc.get_model_by_name('treatments').labels;
doc.get_model_by_name('treatments').active = [keys.findIndex(k => k.includes('swelling'))];
"""


def _start_server(cwd: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "tgsim", "explore", "--web", "--port", "0",
                             "--no-browser"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, cwd=cwd,
                            env=dict(os.environ, PYTHONUNBUFFERED="1"))
    for line in proc.stdout:  # type: ignore[union-attr]
        if "http://127.0.0.1:" in line:
            return proc, line[line.index("http://"):].split()[0]
    raise SystemExit("the explorer server did not start")


def _browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    opts = Options()
    opts.binary_location = shutil.which("chromium") or shutil.which("chromium-browser")
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1500,1150", "--hide-scrollbars"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=opts)
    driver.set_script_timeout(300)
    return driver


def _cpu(pids: list[int]) -> float:
    try:
        import psutil
    except ImportError:
        return float("nan")
    total = 0.0
    for pid in pids:
        try:
            t = psutil.Process(pid).cpu_times()
            total += t.user + t.system
        except psutil.Error:
            pass
    return total


def _run(driver, values, pause: float, pids: tuple[list[int], list[int]]):
    cpu0 = (_cpu(pids[0]), _cpu(pids[1]))
    out = []
    for v in values:
        if pause:
            time.sleep(pause)
        out.append(driver.execute_async_script(LATENCY, v))
    n = len(values)
    cpu = (1e3 * (_cpu(pids[0]) - cpu0[0]) / n, 1e3 * (_cpu(pids[1]) - cpu0[1]) / n)
    return out, cpu


def _children(pid: int) -> list[int]:
    try:
        import psutil
    except ImportError:
        return []
    return [p.pid for p in psutil.Process(pid).children(recursive=True)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--changes", type=int, default=40)
    ap.add_argument("--checkout", default=os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))), help="checkout whose tgsim serves the page")
    args = ap.parse_args()
    proc, url = _start_server(args.checkout)
    driver = _browser()
    try:
        driver.get(url)
        deadline = time.monotonic() + 300
        while not driver.execute_script(READY) and time.monotonic() < deadline:
            time.sleep(0.05)
        driver.execute_script(PICK_SWELLING)
        time.sleep(2.0)
        lo, hi = driver.execute_script("const s = Bokeh.documents[0].get_model_by_name("
                                       "'growth_rate'); return [s.start, s.end];")
        values = [lo + (hi - lo) * (0.3 + 0.02 * (i % 10)) for i in range(args.changes + 1)]
        driver.execute_async_script(LATENCY, values[0])  # warm-up
        pids = ([proc.pid], _children(driver.service.process.pid))
        load = os.getloadavg()[0]
        for label, pause in (("back to back", 0.0), ("0.3 s apart", 0.3)):
            ms, cpu = _run(driver, values[1:], pause, pids)
            data = statistics.median(m[0] for m in ms)
            draw = statistics.median(m[1] for m in ms)
            print(f"{label:>12}: {len(ms)} changes; median data {data:5.0f} ms, redraw "
                  f"{draw:5.0f} ms (min {min(m[1] for m in ms):.0f}, max "
                  f"{max(m[1] for m in ms):.0f}); CPU per change: server {cpu[0]:.0f} ms, "
                  f"browser {cpu[1]:.0f} ms")
        print(f"load average at the start: {load:.1f} on {os.cpu_count()} CPUs; "
              f"served from {args.checkout}")
    finally:
        driver.quit()
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
