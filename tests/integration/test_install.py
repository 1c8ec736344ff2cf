"""make install into a DESTDIR: what lands where, and that it is usable."""
import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def make(*args):
    # A fresh make, not a sub-make of the one running the tests.
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    return subprocess.run(["make", "-s", "-C", str(REPO), *args], capture_output=True,
                          text=True, timeout=600, env=env)


def test_install_and_uninstall(tmp_path):
    dest = tmp_path / "dest"
    r = make("install", f"DESTDIR={dest}", "PREFIX=/usr")
    assert r.returncode == 0, r.stderr
    for path, mode in [("usr/sbin/brig-helper", 0o755), ("usr/sbin/brigd", 0o755),
                       ("usr/sbin/brig-unpack", 0o755), ("usr/sbin/brig-cni", 0o755),
                       ("usr/sbin/brig-monitor", 0o755),
                       ("etc/cni/net.d/10-brig.conflist", 0o644),
                       ("usr/share/man/man8/brig-helper.8", 0o644),
                       ("usr/share/man/man8/brigd.8", 0o644),
                       ("usr/share/man/man5/brig.conf.5", 0o644)]:
        st = (dest / path).stat()
        assert st.st_mode & 0o777 == mode, path
    unit = (dest / "usr/lib/systemd/system/brig-helper.service").read_text()
    assert "ExecStart=/usr/sbin/brig-helper\n" in unit
    assert "@SBINDIR@" not in unit
    assert (dest / "etc/brig/brig.conf.d").is_dir()
    assert (dest / "etc/cni/net.d/10-brig.conflist").read_text() == \
        (REPO / "contrib/cni/10-brig.conflist").read_text()
    assert not (dest / "etc/brig/brig.conf.tmp").exists()

    # The installed configuration is the built-in default, and loads back.
    conf = dest / "etc/brig/brig.conf"
    empty = tmp_path / "empty.conf"
    empty.write_text("")
    helper = str(dest / "usr/sbin/brig-helper")
    defaults = subprocess.run([helper, "--config", str(empty), "config"], capture_output=True,
                              text=True, check=True).stdout
    assert conf.read_text() == defaults
    again = subprocess.run([helper, "--config", str(conf), "config"], capture_output=True,
                           text=True, check=True).stdout
    assert again == defaults

    # A second install keeps an edited configuration, and a node's own CNI
    # network.
    conf.write_text('log_level = "debug"\n')
    (dest / "etc/cni/net.d/10-brig.conflist").unlink()
    (dest / "etc/cni/net.d/05-mine.conf").write_text("{}")
    assert make("install", f"DESTDIR={dest}", "PREFIX=/usr").returncode == 0
    assert conf.read_text() == 'log_level = "debug"\n'
    assert sorted(os.listdir(dest / "etc/cni/net.d")) == ["05-mine.conf"]

    r = make("uninstall", f"DESTDIR={dest}", "PREFIX=/usr")
    assert r.returncode == 0, r.stderr
    assert not (dest / "usr/sbin/brig-helper").exists()
    assert not (dest / "usr/lib/systemd/system/brig-helper.service").exists()
    assert conf.exists(), "uninstall keeps the node's configuration"
