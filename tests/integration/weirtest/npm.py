"""npm packages the tests run (hls.js and playwright-core for the browser
tests, an S3 server for the object-storage tests), installed from the
directory's package-lock.json with `npm ci` the first time a test needs them."""

import fcntl
import shutil
import subprocess

import pytest


def ensure(directory, marker):
    """Runs `npm ci` in `directory` unless `marker` (a file npm installs)
    exists; once, under a lock per directory (xdist workers may get here
    together)."""
    if marker.is_file():
        return
    npm = shutil.which("npm")
    if not npm:
        pytest.fail("npm not found: install Node.js (Debian: apt-get install npm)")
    with open(f"/tmp/weir-npm-{directory.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not marker.is_file():
            r = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=directory, capture_output=True,
                               text=True, timeout=300)
            assert r.returncode == 0, f"npm ci in {directory} failed:\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}"
    assert marker.is_file(), f"{marker} missing after npm ci"
