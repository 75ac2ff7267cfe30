"""Fixtures for the black-box integration tests.

WEIR_BIN names the server binary (CTest sets it; default: build/src/weir in
the source tree) and WEIR_SOURCE_DIR the repository (default: two levels up).
Each test gets a `weir` factory that starts servers with a config dict and
stops them at teardown (SIGTERM, exit code 0 within 10 s, no sanitizer
reports in the log). When a test fails, the logs of its servers are attached
to the report.

Run by hand (stdlib + Debian's pytest and pytest-xdist only):
  WEIR_BIN=build/src/weir /usr/bin/python3 -m pytest -q -n 2 tests/integration
"""

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from weirtest import media  # noqa: E402
from weirtest import server as weir_server  # noqa: E402
from weirtest.server import WeirServer  # noqa: E402

SOURCE_DIR = Path(os.environ.get("WEIR_SOURCE_DIR") or Path(__file__).resolve().parents[2])
WEIR_BIN = Path(os.environ.get("WEIR_BIN") or SOURCE_DIR / "build" / "src" / "weir").resolve()


@pytest.fixture(scope="session")
def weir_bin():
    if not WEIR_BIN.is_file():
        pytest.fail(f"weir binary not found at {WEIR_BIN} (set WEIR_BIN)")
    return WEIR_BIN


@pytest.fixture(scope="session")
def source_dir():
    return SOURCE_DIR


class _Factory:
    def __init__(self, binary, workdir, owner):
        self.binary = binary
        self.workdir = Path(workdir)
        self.owner = owner
        self.servers = []

    def __call__(self, config=None, env=None, name=None, start=True):
        name = name or f"weir{len(self.servers)}"
        s = WeirServer(self.binary, self.workdir / name, config, env, name=name, owner=self.owner)
        self.servers.append(s)
        if start:
            s.start()
        return s

    def stop_all(self):
        problems = []
        for s in self.servers:
            for p in s.stop():
                problems.append(f"{s.name}: {p}")
        return problems


@pytest.fixture
def weir(request, weir_bin, tmp_path):
    """weir(config_dict, env=None) -> started WeirServer (stopped at teardown)."""
    f = _Factory(weir_bin, tmp_path, request.node.nodeid)
    yield f
    problems = f.stop_all()
    if problems:
        pytest.fail("server shutdown check failed: " + "; ".join(problems), pytrace=False)


@pytest.fixture(scope="module")
def weir_module(request, weir_bin, tmp_path_factory):
    """Like `weir`, for servers shared by a module's tests."""
    f = _Factory(weir_bin, tmp_path_factory.mktemp(request.module.__name__), request.module.__name__)
    yield f
    problems = f.stop_all()
    if problems:
        pytest.fail("server shutdown check failed: " + "; ".join(problems), pytrace=False)


@pytest.fixture(autouse=True)
def _reap_children():
    """Stops ffmpeg children a test started and left running (e.g. after a failure)."""
    first = len(media.ALL_PROCS)
    yield
    for p in media.ALL_PROCS[first:]:
        if p.running():
            p.stop(timeout=3)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if not rep.failed:
        return
    module = item.module.__name__ if item.module else None
    for s in weir_server.ALL_SERVERS:
        if s.owner in (item.nodeid, module):
            rep.sections.append((f"weir log: {s.name} ({s.log_path})", s.log_tail(150)))


# The shipped config's ports. A user's `tools/dev.sh run` server may hold them
# while the tests run (it did on the CI machine), so nothing under test may
# bind them: the session holds whichever are free, and a test or tool that
# forgets a port-0 override fails here as it would there.
DEFAULT_PORTS = (("tcp", 1935), ("tcp", 8080), ("tcp", 1985), ("udp", 10080))


@pytest.fixture(scope="session", autouse=True)
def _hold_default_ports():
    import socket
    held = []
    for proto, port in DEFAULT_PORTS:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
        try:
            s.bind(("0.0.0.0", port))
            if proto == "tcp":
                s.listen(1)
            held.append(s)
        except OSError:
            s.close()  # already held: by the other xdist worker, or by a running server
    yield
    for s in held:
        s.close()
