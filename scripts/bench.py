"""brig's benchmarks: start-up time and CRI call latency and throughput.

Runs a real brig-helper and brigd from BUILD (the integration fixture's
Brig class, so both start and stop the same way), times the calls from a
Python grpc client, and prints one line per figure: min, median and max
over the rounds. The client is part of what is measured; compare figures
from the same machine only.
"""
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "integration"))
import conftest  # noqa: E402

ROUNDS = 5
CALLS = 1000
THREADS = 8


def report(name, unit, values):
    print(f"{name:<34} min {min(values):9.1f} {unit}  median {statistics.median(values):9.1f} "
          f"{unit}  max {max(values):9.1f} {unit}")


def sequential(call, n):
    start = time.perf_counter()
    for _ in range(n):
        call()
    return (time.perf_counter() - start) / n * 1e6


def parallel(make_call, n, threads):
    calls = [make_call() for _ in range(threads)]
    per = n // threads

    def work(c):
        for _ in range(per):
            c()

    ts = [threading.Thread(target=work, args=(c,)) for c in calls]
    start = time.perf_counter()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return per * threads / (time.perf_counter() - start)


def main():
    if len(sys.argv) > 1:
        conftest.BUILD = Path(sys.argv[1]).resolve()
        conftest.HELPER = conftest.BUILD / "brig-helper"
        conftest.BRIGD = conftest.BUILD / "brigd"
    api = conftest.api_pb2
    startups, version_us, status_us, throughput = [], [], [], []
    for _ in range(ROUNDS):
        base = Path(tempfile.mkdtemp(prefix="brig-bench-"))
        base.chmod(0o755)
        brig = conftest.Brig(base)
        try:
            start = time.perf_counter()
            brig.start()
            startups.append((time.perf_counter() - start) * 1e3)
            cri = brig.cri()
            version_us.append(sequential(
                lambda: cri.runtime("Version", api.VersionRequest()), CALLS))
            # Status makes a PING round trip through brig-helper.
            status_us.append(sequential(
                lambda: cri.runtime("Status", api.StatusRequest()), CALLS))
            throughput.append(parallel(
                lambda: (lambda c=brig.cri(): c.runtime("Version", api.VersionRequest())),
                CALLS * 4, THREADS))
            brig.stop()
        finally:
            brig.kill_everything()
            if brig.log:
                brig.log.close()
    print(f"brig benchmarks: {conftest.BUILD}, {ROUNDS} rounds")
    report("start-up to first Version", "ms", startups)
    report("Version, sequential", "us", version_us)
    report("Status (helper PING), sequential", "us", status_us)
    report(f"Version, {THREADS} client threads", "/s", throughput)


if __name__ == "__main__":
    main()
