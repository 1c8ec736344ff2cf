"""The command-line surface of the built binaries, and what they link."""
import os
import re
import subprocess

BUILD = os.environ.get("BRIG_BUILD", os.path.join(os.path.dirname(__file__), "..", "..", "build"))

# Parsers of network formats stay out of the root process (DESIGN.md).
FORBIDDEN_IN_HELPER = re.compile(
    r"lib(grpc|gpr|protobuf|curl|ssl|crypto|json|jansson|archive|upb|absl|cares|re2)")


def run(binary, *args):
    return subprocess.run([os.path.join(BUILD, binary), *args],
                          capture_output=True, text=True, timeout=30)


def test_version():
    for binary in ("brig-helper", "brigd"):
        r = run(binary, "--version")
        assert r.returncode == 0
        assert r.stdout == f"{binary} 0.1.0\n"


def test_unknown_option_is_refused():
    for binary in ("brig-helper", "brigd"):
        r = run(binary, "-x")
        assert r.returncode == 2
        assert "unknown option '-x'" in r.stderr
        assert "Usage:" in r.stderr


def test_unknown_command_is_refused():
    r = run("brig-helper", "serve")
    assert r.returncode == 2
    assert "unknown command 'serve'" in r.stderr


def test_config_prints_a_config_that_loads_back(tmp_path):
    empty = tmp_path / "empty.conf"
    empty.write_text("")
    first = run("brig-helper", "--config", str(empty), "--run-root", "/tmp/x",
                "--cgroup-manager=systemd", "config")
    assert first.returncode == 0, first.stderr
    assert 'run_root = "/tmp/x"' in first.stdout
    assert 'cgroup_manager = "systemd"' in first.stdout
    printed = tmp_path / "printed.conf"
    printed.write_text(first.stdout)
    for binary in ("brig-helper", "brigd"):
        again = run(binary, "--config", str(printed), "config")
        assert again.returncode == 0, again.stderr
        assert again.stdout == first.stdout


def test_config_runtimes_print_as_tables_that_load_back(tmp_path):
    main = tmp_path / "brig.conf"
    main.write_text('default_runtime = "kata"\n[runtimes.crun]\nroot = "/run/c"\n')
    dropins = tmp_path / "brig.conf.d"
    dropins.mkdir()
    (dropins / "10-kata.conf").write_text('[runtimes.kata]\npath = "/opt/kata"\n')
    first = run("brig-helper", "--config", str(main), "config")
    assert first.returncode == 0, first.stderr
    assert first.stdout.endswith('[runtimes.runc]\npath = "/usr/sbin/runc"\nroot = ""\n'
                                 'type = "oci"\n\n[runtimes.crun]\npath = "/usr/bin/crun"\n'
                                 'root = "/run/c"\ntype = "oci"\n\n[runtimes.kata]\n'
                                 'path = "/opt/kata"\nroot = ""\ntype = "oci"\n')
    printed = tmp_path / "printed.conf"
    printed.write_text(first.stdout)
    for binary in ("brig-helper", "brigd"):
        again = run(binary, "--config", str(printed), "config")
        assert again.returncode == 0, again.stderr
        assert again.stdout == first.stdout
    r = run("brig-helper", "--config", str(printed), "--default-runtime", "youki", "config")
    assert r.returncode == 1
    assert r.stderr == ('brig-helper: default_runtime "youki" is not one of [runtimes.*]: '
                        'runc, crun, kata\n')
    r = run("brigd", "--config", str(printed), "--runtimes", "x", "config")
    assert r.returncode == 1
    assert ("--runtimes: key 'runtimes' is a table, which only a configuration file can set"
            in r.stderr)


def test_dropins_apply_in_lexical_order(tmp_path):
    main = tmp_path / "brig.conf"
    main.write_text('log_level = "warn"\n')
    dropins = tmp_path / "brig.conf.d"
    dropins.mkdir()
    (dropins / "20-b.conf").write_text('log_level = "debug"\n')
    (dropins / "10-a.conf").write_text('log_level = "error"\nuser = "kube"\n')
    (dropins / "ignored.txt").write_text("garbage")
    r = run("brig-helper", "--config", str(main), "config")
    assert r.returncode == 0, r.stderr
    assert 'log_level = "debug"' in r.stdout
    assert 'user = "kube"' in r.stdout
    r = run("brig-helper", "--config", str(main), "--log-level", "info", "config")
    assert 'log_level = "info"' in r.stdout


def test_config_errors_name_file_line_and_key(tmp_path):
    conf = tmp_path / "brig.conf"
    conf.write_text('root = "/var/lib/brig"\n\nno_such_key = 1\n')
    r = run("brig-helper", "--config", str(conf), "config")
    assert r.returncode == 1
    assert f"{conf}:3: unknown key 'no_such_key'" in r.stderr
    conf.write_text('log_level = 3\n')
    r = run("brig-helper", "--config", str(conf), "config")
    assert f"{conf}:1: key 'log_level': expected string, got integer" in r.stderr


def test_a_named_config_file_must_exist(tmp_path):
    r = run("brig-helper", "--config", str(tmp_path / "missing.conf"), "config")
    assert r.returncode == 1
    assert "missing.conf: cannot open: No such file or directory" in r.stderr


def test_helper_links_no_network_format_parser():
    r = subprocess.run(["ldd", os.path.join(BUILD, "brig-helper")], capture_output=True,
                       text=True, check=True)
    libs = [line.split()[0] for line in r.stdout.splitlines() if line.strip()]
    assert any(lib.startswith("libcap-ng") for lib in libs), libs
    bad = [lib for lib in libs if FORBIDDEN_IN_HELPER.search(lib)]
    assert bad == [], f"brig-helper links {bad}"
