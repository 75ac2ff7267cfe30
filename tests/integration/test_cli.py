"""Command line: --version, --check-config, --print-keys, environment overrides."""

import re
import subprocess

import pytest

from weirtest.server import clean_env


def run_weir(weir_bin, *args, env=None, cwd=None):
    return subprocess.run([str(weir_bin), *args], capture_output=True, text=True, timeout=30,
                          env=clean_env(env), cwd=cwd)


def test_version(weir_bin):
    r = run_weir(weir_bin, "--version")
    assert r.returncode == 0, r.stderr
    assert re.fullmatch(r"weir 0\.1\.0 \(.+\)\n", r.stdout), r.stdout


SHIPPED = ["weir.yaml", "origin.yaml", "edge.yaml"]


@pytest.mark.parametrize("name", SHIPPED)
def test_check_config_accepts_shipped_config(weir_bin, source_dir, name):
    r = run_weir(weir_bin, "--check-config", "-c", str(source_dir / "conf" / name))
    assert r.returncode == 0, f"conf/{name} refused: {r.stdout}{r.stderr}"
    assert "names no config key" not in r.stderr, r.stderr


# (name, yaml text, env, strings that must all appear in the error output)
INVALID = [
    ("unknown_key", "rtmp:\n  lisen: 127.0.0.1:0\n", None, ["rtmp.lisen", "line 2", "unknown key"]),
    ("unknown_top_key", "workers: 1\nrmtp:\n  listen: 1\n", None, ["rmtp", "line 2"]),
    ("bad_type_int", "workers: abc\n", None, ["workers", "line 1"]),
    ("bad_type_bool", "apps:\n  live:\n    gop_cache: sometimes\n", None, ["apps.live.gop_cache", "line 3"]),
    ("bad_size", "apps:\n  live:\n    viewer_max_bytes: 12XB\n", None, ["apps.live.viewer_max_bytes", "line 3"]),
    ("out_of_range", "log:\n  level: info\nhttp:\n  request_timeout_ms: 5\n", None,
     ["http.request_timeout_ms", "line 4"]),
    ("out_of_range_chunk", "rtmp:\n  chunk_size: 100\n", None, ["rtmp.chunk_size", "line 2"]),
    ("bad_enum", "log:\n  level: loud\n", None, ["log.level", "line 2"]),
    ("bad_app_name", "apps:\n  \"bad name!\": {}\n", None, ["bad name!", "line 2"]),
    ("yaml_syntax", "rtmp: [\n", None, ["line"]),
    ("bad_listen_rtmp", "workers: 1\nrtmp:\n  listen: nohost\n", None, ["rtmp.listen", "line 3"]),
    ("bad_listen_http_port", "http:\n  listen: 127.0.0.1:70000\n", None, ["http.listen", "line 2"]),
    ("bad_env_bool", "apps:\n  live: {}\n", {"WEIR_APPS_LIVE_GOP_CACHE": "maybe"},
     ["WEIR_APPS_LIVE_GOP_CACHE", "apps.live.gop_cache"]),
    ("bad_env_range", "apps:\n  live: {}\n", {"WEIR_WORKERS": "999"}, ["WEIR_WORKERS", "workers"]),
    ("bad_env_listen", "apps:\n  live: {}\n", {"WEIR_HTTP_LISTEN": "localhost:notaport"},
     ["WEIR_HTTP_LISTEN", "http.listen"]),
]


@pytest.mark.parametrize("name,text,env,needles", INVALID, ids=[c[0] for c in INVALID])
def test_check_config_refuses_invalid(weir_bin, tmp_path, name, text, env, needles):
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    r = run_weir(weir_bin, "--check-config", "-c", str(path), env=env)
    out = r.stdout + r.stderr
    assert r.returncode != 0, f"--check-config accepted an invalid config:\n{text}\noutput: {out}"
    missing = [n for n in needles if n not in out]
    assert not missing, f"error output does not name {missing}:\n{out}"


def test_start_with_invalid_config_exits_nonzero(weir_bin, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("apps:\n  live:\n    reconnect_grace_ms: -1\n")
    r = subprocess.run([str(weir_bin), "-c", str(path)], capture_output=True, text=True, timeout=15,
                       env=clean_env({"WEIR_RTMP_LISTEN": "127.0.0.1:0", "WEIR_HTTP_LISTEN": "127.0.0.1:0", "WEIR_API_LISTEN": "127.0.0.1:0",
                                     "WEIR_SRT_LISTEN": "127.0.0.1:0"}))
    assert r.returncode != 0
    assert "apps.live.reconnect_grace_ms" in r.stderr and "line 3" in r.stderr, r.stderr
    assert "listening" not in r.stdout


def yaml_key_paths(text):
    """[(dotted path, line number, has a comment line directly above)] for
    every `key:` line of a block-style YAML file."""
    out = []
    stack = []  # (indent, key)
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"^(\s*)([A-Za-z0-9_*\"'.-]+)\s*:(\s|$)", line)
        if not m or line.lstrip().startswith("#"):
            continue
        indent = len(m.group(1))
        key = m.group(2).strip("\"'")
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, key))
        prev = lines[i - 1].strip() if i > 0 else ""
        out.append((".".join(k for _, k in stack), i + 1, prev.startswith("#")))
    return out


def test_every_key_documented_in_shipped_config(weir_bin, source_dir):
    r = run_weir(weir_bin, "--print-keys")
    assert r.returncode == 0, r.stderr
    keys = []
    for line in r.stdout.splitlines():
        key, tab, doc = line.partition("\t")
        assert tab and doc.strip(), f"--print-keys line without documentation: {line!r}"
        keys.append(key)
    assert len(keys) >= 20, f"only {len(keys)} keys printed"
    for expected in ("workers", "rtmp.listen", "http.cors_origin", "limits.max_connections",
                     "apps.<name>.viewer_send_timeout_ms"):
        assert expected in keys
    paths = yaml_key_paths((source_dir / "conf" / "weir.yaml").read_text())
    problems = []
    for key in keys:
        rx = re.compile("^" + re.escape(key).replace(re.escape("<name>"), r"[^.]+") + "$")
        found = [(p, ln, c) for p, ln, c in paths if rx.match(p)]
        if not found:
            problems.append(f"{key}: not in conf/weir.yaml (under its section)")
        elif not any(c for _, _, c in found):
            problems.append(f"{key}: no comment line above it (line {found[0][1]})")
    assert not problems, "conf/weir.yaml is incomplete:\n" + "\n".join(problems)


def test_env_overrides_config(weir):
    # The file's listen addresses are invalid: the server only starts because
    # WEIR_RTMP_LISTEN / WEIR_HTTP_LISTEN (set by the fixture) replace them.
    s = weir({"workers": 1, "rtmp": {"listen": "not-an-address"}, "http": {"listen": "bad:port"}},
             env={"WEIR_WORKERS": "3"})
    assert s.info["workers"] == 3, s.info
    assert s.info["version"] == "0.1.0"
    assert s.info["pid"] == s.proc.pid
    assert s.rtmp_addr[0] == "127.0.0.1" and s.rtmp_addr[1] > 0
    assert s.http_addr[0] == "127.0.0.1" and s.http_addr[1] > 0
    assert len(s.stdout_lines) == 1, f"more than one line on stdout: {s.stdout_lines}"


def test_unknown_env_variable_is_warned_and_ignored(weir, weir_bin, tmp_path):
    s = weir({}, env={"WEIR_NO_SUCH_KEY": "1", "WEIR_APPS_NOSUCHAPP_GOP_CACHE": "false"})
    s.wait_log(r"WEIR_NO_SUCH_KEY.*names no config key")
    s.wait_log(r"WEIR_APPS_NOSUCHAPP_GOP_CACHE.*names no config key")
    assert s.get("/healthz").status == 200
    # The same for --check-config, which still succeeds.
    path = tmp_path / "ok.yaml"
    path.write_text("apps:\n  live: {}\n")
    r = run_weir(weir_bin, "--check-config", "-c", str(path), env={"WEIR_NO_SUCH_KEY": "1"})
    assert r.returncode == 0, r.stderr
    assert "WEIR_NO_SUCH_KEY" in r.stderr and "names no config key" in r.stderr, r.stderr


def test_env_overrides_app_key(weir_bin, tmp_path):
    path = tmp_path / "apps.yaml"
    path.write_text("apps:\n  live:\n    play_wait_ms: 0\n")
    r = run_weir(weir_bin, "--check-config", "-c", str(path), env={"WEIR_APPS_LIVE_PLAY_WAIT_MS": "700000"})
    assert r.returncode != 0 and "WEIR_APPS_LIVE_PLAY_WAIT_MS" in r.stderr, \
        f"an out-of-range app override was not refused: {r.stderr}"
    r = run_weir(weir_bin, "--check-config", "-c", str(path), env={"WEIR_APPS_LIVE_PLAY_WAIT_MS": "2000"})
    assert r.returncode == 0, r.stderr


def test_sigterm_exits_zero(weir):
    s = weir({})
    assert s.stop() == []
    assert s.returncode == 0
    assert "shutting down" in s.log()


def test_one_libsrt_in_the_process(weir_bin):
    # Debian's libavformat/libavfilter link libsrt-gnutls; two libsrt flavours
    # in one process collide in their static destructors at exit (ASan: SEGV
    # in srt::PacketFilter's map), so the server links that same flavour and
    # may then use libavfilter (the transcoder does).
    r = subprocess.run(["ldd", str(weir_bin)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    srt = sorted({line.split()[0] for line in r.stdout.splitlines() if "libsrt" in line})
    assert len(srt) == 1, f"weir loads {srt}"
    if "libavformat" in r.stdout or "libavfilter" in r.stdout:
        assert "gnutls" in srt[0], f"weir loads libavformat with {srt[0]}, not libsrt-gnutls"


def key_regex(dotted):
    return re.compile("^" + re.escape(dotted).replace(re.escape("<name>"), r"[^.]+") + "$")


@pytest.mark.parametrize("name", ["origin.yaml", "edge.yaml"])
def test_example_configs_document_every_key(weir_bin, source_dir, name):
    """The shipped examples: each key they set is a config key with a comment
    above it, each section is one, and their header points at conf/weir.yaml
    for the rest."""
    r = run_weir(weir_bin, "--print-keys")
    assert r.returncode == 0, r.stderr
    keys = [key_regex(line.partition("\t")[0]) for line in r.stdout.splitlines()]
    sections = {".".join(line.partition("\t")[0].split(".")[:i]) for line in r.stdout.splitlines()
                for i in range(1, line.partition("\t")[0].count(".") + 1)}
    sections = [key_regex(x) for x in sections]
    text = (source_dir / "conf" / name).read_text()
    assert "conf/weir.yaml" in text.split("\n\n")[0], f"conf/{name}: the header does not point at conf/weir.yaml"
    problems = []
    seen = 0
    for path, line, commented in yaml_key_paths(text):
        if any(rx.match(path) for rx in keys):
            seen += 1
            if not commented:
                problems.append(f"{path} (line {line}): no comment line above it")
        elif not any(rx.match(path) for rx in sections):
            problems.append(f"{path} (line {line}): not a config key")
    assert seen >= 10 and not problems, f"conf/{name} ({seen} keys):\n" + "\n".join(problems)
