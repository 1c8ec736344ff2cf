"""The command-line surface of the built binaries."""
import os
import subprocess

BUILD = os.environ.get("BRIG_BUILD", os.path.join(os.path.dirname(__file__), "..", "..", "build"))


def run(*args):
    return subprocess.run([os.path.join(BUILD, "brig-helper"), *args],
                          capture_output=True, text=True, timeout=30)


def test_version():
    r = run("--version")
    assert r.returncode == 0
    assert r.stdout.startswith("brig-helper ")


def test_unknown_option_is_refused():
    r = run("--no-such-option")
    assert r.returncode == 2
    assert "Usage:" in r.stderr
