"""The kernel cache: trusted folders only, corrupt entries rebuilt, one cache per job.

Regression tests for an attacker-writable cache (a planted pickle ran code), a truncated
``.nbc`` file (a permanent UnpicklingError), and for per-job kernel modules (editing one
job's template must not invalidate another job's compiled kernels).
"""

import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import tgsim
from tgsim.engine import compile as tc
from tgsim.engine.kernels.cache import KernelCacheError, cache_dir, check_trusted
from tgsim.errors import Status

ROOT = Path(__file__).resolve().parents[2]


def _run(code: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    full = {**os.environ, **env, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=full,
                          capture_output=True, text=True, timeout=600)


class _Payload:
    """Unpickling this runs ``open(marker, "w")``: what an attacker would plant."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_world_writable_cache_is_refused_and_planted_pickle_never_runs(tmp_path):
    cache = tmp_path / "cache"
    (cache / "__pycache__").mkdir(parents=True)
    os.chmod(cache, 0o777)
    marker = tmp_path / "pwned"
    # plant an index for every kernel module name a simulate could load
    payload = pickle.dumps(_Payload(str(marker)))
    for name in ("tgsim_simulate_exponential", "x"):
        (cache / "__pycache__" / f"{name}.integrate-1.py311.nbi").write_bytes(payload)
    r = _run("""
        import tgsim
        try:
            tgsim.simulate("exponential", [0, 1, 2], {"initial_volume": 1.0,
                           "growth_rate": 0.1}, solver="ode")
        except tgsim.TgsimError as e:
            print("REFUSED", e)
    """, {"TGSIM_CACHE_DIR": str(cache)})
    assert "REFUSED" in r.stdout and "writable by group or others" in r.stdout, r.stderr
    assert not marker.exists()


def test_check_trusted_rules(tmp_path):
    d = tmp_path / "c"
    d.mkdir(mode=0o700)
    check_trusted(d)
    os.chmod(d, 0o770)
    with pytest.raises(KernelCacheError, match="writable by group or others"):
        check_trusted(d)
    os.chmod(d, 0o700)
    (d / "__pycache__").mkdir()
    os.chmod(d / "__pycache__", 0o777)
    with pytest.raises(KernelCacheError, match="__pycache__"):
        check_trusted(d)
    f = tmp_path / "file"
    f.write_text("")
    with pytest.raises(KernelCacheError, match="not a folder"):
        check_trusted(f)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0,
                    reason="changing a folder's owner needs root")
def test_cache_owned_by_another_user_is_refused(tmp_path):
    d = tmp_path / "c"
    d.mkdir(mode=0o700)
    os.chown(d, 12345, -1)
    with pytest.raises(KernelCacheError, match="owned by user id 12345"):
        check_trusted(d)


def test_new_cache_is_private_and_unwritable_one_falls_back_to_a_private_folder(
        tmp_path, monkeypatch):
    target = tmp_path / "a" / "b" / "kernels"
    monkeypatch.setenv("TGSIM_CACHE_DIR", str(target))
    assert cache_dir() == target
    assert (target.stat().st_mode & 0o777) == 0o700
    assert (target.parent.stat().st_mode & 0o777) == 0o700
    # a file where the folder should be: the per-user folder, never a shared /tmp one
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    monkeypatch.setenv("TGSIM_CACHE_DIR", str(blocker))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home-cache"))
    got = cache_dir()
    assert got == tmp_path / "home-cache" / "tgsim" / "kernels"
    assert (got.stat().st_mode & 0o777) == 0o700


def test_corrupted_cache_entry_is_removed_and_rebuilt(tmp_path):
    # a small compiled module with the same recovery as the kernel modules
    cache = tmp_path / "c"
    cache.mkdir(mode=0o700)
    (cache / "tmod_a.py").write_text(
        "from numba import njit\n\n\n@njit(cache=True)\ndef f(x):\n    return 2.0 * x + 1.0\n")
    code = f"""
        import importlib.util, sys
        spec = importlib.util.spec_from_file_location("tmod_a", {str(cache / 'tmod_a.py')!r})
        m = importlib.util.module_from_spec(spec)
        sys.modules["tmod_a"] = m
        spec.loader.exec_module(m)
        from tgsim.engine.kernels.cache import guard_module
        guard_module(m)
        print("VALUE", m.f(2.0))
    """
    first = _run(code, {})
    assert "VALUE 5.0" in first.stdout, first.stderr
    nbc = list((cache / "__pycache__").glob("*.nbc"))
    assert nbc
    for p in nbc:
        p.write_bytes(p.read_bytes()[:20])  # truncated, as a killed write leaves it
    second = _run(code, {})
    assert "VALUE 5.0" in second.stdout, second.stderr
    assert "could not be read" in second.stderr and "rebuilding" in second.stderr
    third = _run(code, {})
    assert "VALUE 5.0" in third.stdout and "could not be read" not in third.stderr


@pytest.mark.slow
def test_corrupted_kernel_cache_end_to_end(tmp_path):
    env = {"TGSIM_CACHE_DIR": str(tmp_path / "c")}
    code = """
        import numpy as np, tgsim
        ds = tgsim.simulate("exponential", [0.0, 10.0], {"initial_volume": 1.0,
                            "growth_rate": 0.1}, solver="ode")
        print("VALUE %.6f" % ds.volume.values[0, -1])
    """
    assert "VALUE 2.718282" in _run(code, env).stdout
    for p in (tmp_path / "c" / "__pycache__").glob("*.nbc"):
        p.write_bytes(p.read_bytes()[:20])
    r = _run(code, env)
    assert "VALUE 2.718282" in r.stdout, r.stderr
    assert "could not be read" in r.stderr


def test_jobs_are_hashed_with_their_own_sources(monkeypatch):
    """Editing the fit template changes the fit modules only; the simulation module (and
    so its compiled cache) stays the same."""
    m = tgsim.model("gompertz")
    before = {job: tc.job_source(m, job) for job in tc.JOBS}
    original = tc._template_text

    def edited(name):
        text = original(name)
        return text + "\n# an edit\n" if name == "fit" else text

    monkeypatch.setattr(tc, "_template_text", edited)
    after = {job: tc.job_source(m, job) for job in tc.JOBS}
    assert after["simulate"] == before["simulate"]
    assert after["metastasis"] == before["metastasis"]
    assert after["fit_closed"] != before["fit_closed"]
    assert after["fit_ode"] != before["fit_ode"]
    # the module key (its file name) follows the template files themselves
    keys = {job: tc.job_key(m, job) for job in tc.JOBS}
    assert len(set(keys.values())) == len(keys)
    # the closed-form fit module carries no integrator
    assert "FIT_ODE = False" in before["fit_closed"]
    assert "def integrate_lin" not in before["fit_closed"]


def test_templates_are_modules_and_placeholders_resolve():
    import importlib

    for name in ("common", "simulate", "fit", "metastasis"):
        importlib.import_module(f"tgsim.engine.kernels.templates.{name}")
    src = tc.job_source(tgsim.model("two_population"), "metastasis")
    assert "tgsim.engine.kernels.stub" not in src and "_FORM" not in src
    # status codes come from tgsim.errors.Status
    for s in Status:
        assert f"ST_{s.name} = {int(s)}" in src


def test_first_compile_is_announced_once(tmp_path):
    r = _run("""
        import tgsim
        for _ in range(2):
            tgsim.simulate("exponential", [0.0, 1.0], {"initial_volume": 1.0,
                           "growth_rate": 0.1}, solver="ode")
    """, {"TGSIM_CACHE_DIR": str(tmp_path / "c")})
    assert r.returncode == 0, r.stderr
    assert r.stderr.count("compiling exponential simulation kernels (first use") == 1
    again = _run("""
        import tgsim
        tgsim.simulate("exponential", [0.0, 1.0], {"initial_volume": 1.0,
                       "growth_rate": 0.1}, solver="ode")
    """, {"TGSIM_CACHE_DIR": str(tmp_path / "c")})
    assert "compiling" not in again.stderr


@pytest.mark.slow
def test_cli_fit_cache_serves_the_api_without_a_second_compile(tmp_path):
    """`tgsim fit` and `tgsim.fit` share one kernel cache: after the CLI has compiled an
    ODE card's fit kernels, a new Python process fits with no compilation at all."""
    import numpy as np

    t = np.linspace(0.0, 21.0, 8)
    v = tgsim.simulate("exponential_linear", t, {"initial_volume": 20.0, "growth_rate": 0.3,
                                                 "linear_rate": 100.0}).volume.values[0]
    rows = ["subject,day,value,unit"]
    for s in range(3):
        rows += [f"m{s},{ti},{vi * (1 + 0.05 * np.sin(7 * s + k)):.6f},mm^3"
                 for k, (ti, vi) in enumerate(zip(t, v, strict=True))]
    csv = tmp_path / "data.csv"
    csv.write_text("\n".join(rows) + "\n")
    env = {**os.environ, "TGSIM_CACHE_DIR": str(tmp_path / "c"), "PYTHONPATH": str(ROOT)}
    cli = subprocess.run([sys.executable, "-m", "tgsim", "fit", str(csv), "--model",
                          "exponential_linear", "-o", str(tmp_path / "fits.csv")], env=env,
                         capture_output=True, text=True, timeout=1200)
    assert cli.returncode == 0, cli.stderr
    r = _run(f"""
        import numba.core.event as ev
        import tgsim
        with ev.install_recorder("numba:compile") as rec:
            res = tgsim.fit({str(csv)!r}, "exponential_linear")
        names = sorted({{e.data["dispatcher"].py_func.__name__ for _, e in rec.buffer}})
        print("COMPILED", names, "OK", bool(res.success.all()))
    """, {"TGSIM_CACHE_DIR": str(tmp_path / "c")})
    assert "COMPILED [] OK True" in r.stdout, r.stdout + r.stderr
