"""WeirServer: runs the real `weir` binary with a generated config on
127.0.0.1, port 0, and talks to it."""

import json
import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

from . import httpc

LISTEN_TIMEOUT = 15.0
STOP_TIMEOUT = 15.0
SANITIZER_MARKERS = ("AddressSanitizer", "LeakSanitizer", "ThreadSanitizer", "UndefinedBehaviorSanitizer",
                     "runtime error")

# Every server started in this process, for attaching logs to failure reports.
ALL_SERVERS = []


def _yaml_key(k):
    k = str(k)
    return k if re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", k) else json.dumps(k)


def _yaml_scalar(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if v is None:
        return "null"
    return json.dumps(str(v))  # a JSON string is a valid YAML double-quoted scalar


def to_yaml(d, indent=0):
    """Block-style YAML for nested dicts of scalars and lists of scalars
    (enough for weir configs)."""
    out = []
    pad = "  " * indent
    for k, v in d.items():
        if isinstance(v, dict):
            if v:
                out.append(f"{pad}{_yaml_key(k)}:")
                out.append(to_yaml(v, indent + 1))
            else:
                out.append(f"{pad}{_yaml_key(k)}: {{}}")
        elif isinstance(v, (list, tuple)):
            out.append(f"{pad}{_yaml_key(k)}: [" + ", ".join(_yaml_scalar(x) for x in v) + "]")
        else:
            out.append(f"{pad}{_yaml_key(k)}: {_yaml_scalar(v)}")
    return "\n".join(x for x in out if x != "")


def clean_env(extra=None):
    """The test process environment without WEIR_* variables (CTest sets
    WEIR_BIN and WEIR_SOURCE_DIR, which name no config key), plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEIR_")}
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
    env.update(extra or {})
    return env


def deep_merge(a, b):
    out = dict(a)
    for k, v in (b or {}).items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = v
    return out


DEFAULT_CONFIG = {
    "workers": 1,
    "log": {"level": "info"},
    # Tests stop servers with clients still attached: no drain (test_shutdown.py
    # tests the drain with its own settings).
    "shutdown": {"drain_ms": 0},
    "apps": {"live": {}},
}


class WeirServer:
    def __init__(self, binary, workdir, config=None, env=None, name="weir", owner=None, merge_defaults=True):
        self.binary = str(binary)
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.owner = owner
        if config is None:
            config = {}
        self.config = deep_merge(DEFAULT_CONFIG, config) if merge_defaults and isinstance(config, dict) else config
        self.env_extra = dict(env or {})
        self.config_path = self.workdir / f"{name}.yaml"
        self.log_path = self.workdir / f"{name}.log"
        self.proc = None
        self.info = None
        self.rtmp_addr = None
        self.http_addr = None
        self.api_addr = None
        self.api_token = None  # set by tests that configure api.token
        self.returncode = None
        self.stdout_lines = []
        self._stdout_event = threading.Event()
        ALL_SERVERS.append(self)

    # ------------------------------------------------------------ life cycle
    def start(self):
        if isinstance(self.config, str):
            self.config_path.write_text(self.config)
        else:
            self.config_path.write_text(to_yaml(self.config) + "\n")
        env = {"WEIR_RTMP_LISTEN": "127.0.0.1:0", "WEIR_HTTP_LISTEN": "127.0.0.1:0", "WEIR_SRT_LISTEN": "127.0.0.1:0",
               "WEIR_API_LISTEN": "127.0.0.1:0"}
        env.update(self.env_extra)
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([self.binary, "-c", str(self.config_path)], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=self._log, env=clean_env(env),
                                     cwd=str(self.workdir))
        t = threading.Thread(target=self._read_stdout, daemon=True)
        t.start()
        deadline = time.monotonic() + LISTEN_TIMEOUT
        while not self.stdout_lines:
            if self.proc.poll() is not None:
                raise AssertionError(f"weir exited with {self.proc.returncode} before listening:\n{self.log()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"weir printed no listening line within {LISTEN_TIMEOUT} s:\n{self.log()}")
            self._stdout_event.wait(0.05)
        line = self.stdout_lines[0]
        self.info = json.loads(line)
        assert self.info.get("event") == "listening", f"first stdout line is not the listening event: {line!r}"
        self.rtmp_addr = _split_addr(self.info["rtmp"])
        self.http_addr = _split_addr(self.info["http"])
        self.api_addr = _split_addr(self.info["api"])
        self.wait_healthy()
        return self

    def _read_stdout(self):
        for raw in self.proc.stdout:
            self.stdout_lines.append(raw.decode(errors="replace").rstrip("\n"))
            self._stdout_event.set()

    def wait_healthy(self, timeout=10.0):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                r = self.get("/healthz", timeout=2)
                if r.status == 200:
                    return r
                last = r
            except OSError as e:
                last = e
            time.sleep(0.05)
        raise AssertionError(f"/healthz not 200 within {timeout} s (last: {last})")

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        """SIGTERM, wait up to 10 s; returns a list of problems (empty = clean)."""
        problems = []
        if self.proc is None:
            return problems
        if self.proc.poll() is not None and self.returncode is None:
            problems.append(f"weir exited on its own with code {self.proc.returncode}")
        elif self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(STOP_TIMEOUT)
                if rc != 0:
                    problems.append(f"weir exited with code {rc} after SIGTERM (want 0)")
            except subprocess.TimeoutExpired:
                problems.append(f"weir did not exit within {STOP_TIMEOUT} s of SIGTERM")
                self.proc.kill()
                self.proc.wait(5)
        self.returncode = self.proc.returncode
        try:
            self._log.close()
        except Exception:  # noqa: BLE001
            pass
        text = self.log()
        for marker in SANITIZER_MARKERS:
            if marker in text:
                problems.append(f"weir log contains {marker!r}")
        return problems

    # ------------------------------------------------------------ addresses
    def rtmp_url(self, app="live", stream="s", query=None):
        host, port = self.rtmp_addr
        url = f"rtmp://{host}:{port}/{app}/{stream}"
        return url + ("?" + query if query else "")

    def http_url(self, path="/"):
        host, port = self.http_addr
        return f"http://{host}:{port}{path}"

    def flv_url(self, app="live", stream="s"):
        return self.http_url(f"/{app}/{stream}.flv")

    # ------------------------------------------------------------ logs
    def log(self):
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines=200):
        return "\n".join(self.log().splitlines()[-lines:])

    def wait_log(self, pattern, timeout=10.0, start=0):
        """Waits for a regex in the log (from char offset `start`); returns the match."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            m = rx.search(self.log(), start)
            if m:
                return m
            if time.monotonic() > deadline:
                raise AssertionError(f"no log line matching {pattern!r} within {timeout} s; log tail:\n"
                                     f"{self.log_tail(40)}")
            time.sleep(0.05)

    def log_offset(self):
        return len(self.log())

    # ------------------------------------------------------------ HTTP API
    def get(self, path, **kw):
        return httpc.get(self.http_addr, path, **kw)

    def metrics(self):
        """Prometheus text from /metrics as {name: value} (labels kept in the name)."""
        r = self.get("/metrics")
        assert r.status == 200, f"/metrics answered {r.status}"
        return parse_metrics(r.body.decode())

    def metric(self, name):
        return self.metrics().get(name, 0.0)

    def auth_denied(self, protocol, reason):
        """weir_auth_denied_total{protocol,reason}: signed-URL and access-rule refusals."""
        return self.metric(f'weir_auth_denied_total{{protocol="{protocol}",reason="{reason}"}}')

    def api_get(self, path, **kw):
        """GET on the admin API listener (with the bearer token if one is set)."""
        headers = dict(kw.pop("headers", {}) or {})
        if self.api_token:
            headers.setdefault("Authorization", f"Bearer {self.api_token}")
        return httpc.get(self.api_addr, path, headers=headers, **kw)

    def api(self, path="/api/v1/streams?limit=1000"):
        """JSON from the admin API; a list route gives its items; None on 404."""
        r = self.api_get(path)
        if r.status == 404:
            return None
        assert r.status == 200, f"{path} answered {r.status}: {r.body[:200]!r}"
        body = json.loads(r.body)
        return body["items"] if isinstance(body, dict) and "items" in body else body

    def stream_info(self, app="live", name="s"):
        return self.api(f"/api/v1/streams/{app}/{name}")

    def wait_stream(self, app="live", name="s", pred=None, timeout=15.0, what=None):
        """Waits until /api/v1/streams/{app}/{name} exists (and pred(info) is true)."""
        deadline = time.monotonic() + timeout
        info = None
        while time.monotonic() < deadline:
            info = self.stream_info(app, name)
            if info is not None and (pred is None or pred(info)):
                return info
            time.sleep(0.05)
        raise AssertionError(f"stream {app}/{name}: {what or 'not published'} within {timeout} s (last {info})")

    def wait_metric(self, name, pred, timeout=10.0):
        deadline = time.monotonic() + timeout
        v = None
        while time.monotonic() < deadline:
            v = self.metric(name)
            if pred(v):
                return v
            time.sleep(0.05)
        raise AssertionError(f"metric {name} = {v}, condition not met within {timeout} s")


def parse_metrics(text):
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name, _, value = line.rpartition(" ")
        out[name.strip()] = float(value)
    return out


def _split_addr(s):
    host, _, port = s.rpartition(":")
    return host.strip("[]"), int(port)


def wait_until(pred, timeout, what="condition", interval=0.05):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)
