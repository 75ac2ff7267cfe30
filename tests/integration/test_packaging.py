"""Packaging: `cmake --install` puts the binary, /etc/weir/weir.yaml, the
hardened systemd unit, the docs and the example origin/edge configs in place; `systemd-analyze verify` accepts
the unit; `cpack -G DEB` builds a .deb whose control data (Depends from
dpkg-shlibdeps, the conffile, the maintainer scripts) and contents are right,
and whose binary, unpacked into a scratch root, runs and accepts its config."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def build_dir(weir_bin):
    b = Path(weir_bin).resolve().parents[1]
    assert (b / "CMakeCache.txt").is_file(), f"{b} is not the CMake build directory of {weir_bin}"
    return b


def run(args, **kw):
    r = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=300, **kw)
    assert r.returncode == 0, f"{args[0]} failed ({r.returncode}): {r.stdout[-2000:]}{r.stderr[-2000:]}"
    return r


def check_tree(root, prefix="usr"):
    weir = root / prefix / "bin" / "weir"
    assert weir.is_file() and os.access(weir, os.X_OK)
    assert (root / "etc/weir/weir.yaml").is_file()
    unit = root / prefix / "lib/systemd/system/weir.service"
    assert unit.is_file()
    docs = root / prefix / "share/doc/weir"
    for f in ("README.md", "api.md", "benchmarks.md", "openapi.yaml"):
        assert (docs / f).is_file(), f
    out = run([weir, "--version"]).stdout
    assert out.startswith("weir 0.1.0"), out
    run([weir, "--check-config", "-c", root / "etc/weir/weir.yaml"])
    for example in ("origin.yaml", "edge.yaml"):  # the shipped origin/edge pair
        run([weir, "--check-config", "-c", docs / "examples" / example])
    return unit


def test_install_and_the_systemd_unit(build_dir, tmp_path):
    root = tmp_path / "root"
    run(["cmake", "--install", build_dir, "--prefix", "/usr"], env=dict(os.environ, DESTDIR=str(root)))
    unit = check_tree(root)
    text = unit.read_text()
    for line in ("User=weir", "NoNewPrivileges=yes", "ProtectSystem=strict", "StateDirectory=weir",
                 "WorkingDirectory=/var/lib/weir", "ExecStart=/usr/bin/weir -c /etc/weir/weir.yaml",
                 "KillSignal=SIGTERM", "ExecReload=/bin/kill -HUP $MAINPID"):
        assert re.search(rf"^{re.escape(line)}$", text, re.M), line
    # systemd checks the unit against the installed tree (its ExecStart binary
    # included), with this system's own units beside it for its dependencies.
    # Unknown keys are only warnings: the check is that it says nothing.
    # ExecReload's /bin/kill is the system's (procps), as on any Debian host.
    (root / "bin").mkdir(exist_ok=True)
    shutil.copy("/bin/kill", root / "bin" / "kill")
    system_units = Path("/lib/systemd/system")
    for u in system_units.iterdir():
        if u.name != "weir.service" and not (unit.parent / u.name).exists():
            (unit.parent / u.name).symlink_to(u.resolve()) if u.is_dir() else shutil.copy(u, unit.parent / u.name)
    r = subprocess.run(["systemd-analyze", "verify", f"--root={root}", "/usr/lib/systemd/system/weir.service"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and not (r.stdout + r.stderr).strip(), r.stdout + r.stderr


def test_deb_package(build_dir, tmp_path):
    run(["cpack", "-G", "DEB", "-B", tmp_path, "--config", build_dir / "CPackConfig.cmake"])
    [deb] = list(tmp_path.glob("weir_*.deb"))
    info = run(["dpkg-deb", "-I", deb]).stdout
    fields = dict(re.findall(r"^ (\w[\w-]*): (.*)$", info, re.M))
    assert fields["Package"] == "weir" and fields["Version"] == "0.1.0", fields
    depends = fields["Depends"]
    # libsrt: the GnuTLS flavour, the one Debian's FFmpeg libraries link (one libsrt per process).
    for lib in ("adduser", "libuv1", "libsrt1.5-gnutls", "libssl3", "libavcodec", "libjemalloc2", "libsqlite3-0",
                "libcurl4"):
        assert lib in depends, f"{lib} not in Depends: {depends}"
    assert "libsrt1.5-openssl" not in depends, depends
    for script in ("postinst", "prerm", "postrm", "conffiles"):
        assert re.search(rf"\b{script}\b", info), f"no {script} in the control archive:\n{info}"
    conffiles = run(["dpkg-deb", "-I", deb, "conffiles"]).stdout.split()
    assert conffiles == ["/etc/weir/weir.yaml"], conffiles
    postinst = run(["dpkg-deb", "-I", deb, "postinst"]).stdout
    assert "adduser --system" in postinst and "systemctl enable weir.service" in postinst
    files = run(["dpkg-deb", "-c", deb]).stdout
    for path in ("./usr/bin/weir", "./etc/weir/weir.yaml", "./usr/lib/systemd/system/weir.service",
                 "./usr/share/doc/weir/README.md", "./usr/share/doc/weir/examples/edge.yaml"):
        assert re.search(rf" {re.escape(path)}$", files, re.M), f"{path} not in the package:\n{files}"
    root = tmp_path / "scratch"
    run(["dpkg-deb", "-x", deb, root])
    check_tree(root)
