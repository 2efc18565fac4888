"""Start-up benchmark (issue 15, item 5): how long a server takes to answer, whether the first
search pays for building the index or loading dictionaries, and the memory of each worker — with
the master preparing the app before it forks (registry/gunicorn_conf.py: preload_app and
registry/startup.py) against each worker loading the app on its own, in the same run.

Not part of the test suite. Run it from the repository root:

    .venv/bin/python bench/startup_bench.py                       # demo and large, 2 workers
    .venv/bin/python bench/startup_bench.py --sizes demo --workers 4
    .venv/bin/python bench/startup_bench.py --fresh-index          # every start without an index

Sizes as in bench/page_bench.py (`demo`: a fresh `init-db && seed --demo`; `large`:
bench/large_data.py's folder, default /tmp/registry-large). `--fresh-index` points each start at
an empty index folder, as a fresh install has: the preloading master builds it before answering;
without preload, as before issue 15, the first search built it inside a request.

For each size and mode it prints: seconds from the command to the first answer of `/healthz`,
the first `/search` answer's latency (ms) and then a repeat's, and per worker after a few
requests (search, home, directory): RSS, PSS (shared pages counted in part) and USS (pages only
that worker has), from /proc/<pid>/smaps_rollup, in MB.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import page_bench as pb  # noqa: E402 (the page benchmark's data folders and helpers)

# A gunicorn config as before issue 15: the same settings, the app loaded in each worker.
NO_PRELOAD_CONF = """
from registry.gunicorn_conf import *  # noqa: F403
from registry.gunicorn_conf import child_exit, on_starting, post_fork  # noqa: F401

preload_app = False


def when_ready(server):
    pass
"""
WARM_PATHS = ("/search?q=" + urllib.parse.quote("环评"), "/", "/providers", "/search?q=shuibao")


def get(port: int, path: str) -> float:
    started = time.perf_counter()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=600) as answer:
        answer.read()
    return (time.perf_counter() - started) * 1000


def memory(pid: int) -> dict[str, float]:
    fields = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, value, *_ = line.split()
        fields[name.rstrip(":")] = int(value) / 1024
    uss = fields.get("Private_Clean", 0) + fields.get("Private_Dirty", 0)
    return {"rss": fields.get("Rss", 0), "pss": fields.get("Pss", 0), "uss": uss}


def workers_of(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [int(c) for c in children]


def run(mode: str, folder: Path, args, scratch: Path) -> dict:
    env = pb.code_env(pb.environment(folder))
    env["PROMETHEUS_MULTIPROC_DIR"] = str(scratch / f"prometheus-{mode}")
    if args.fresh_index:
        index = scratch / f"index-{mode}"
        shutil.rmtree(index, ignore_errors=True)
        env["REGISTRY_SEARCH_INDEX_DIR"] = str(index)
    config = "python:registry.gunicorn_conf"
    if mode == "per-worker":
        (scratch / "no_preload_conf.py").write_text(NO_PRELOAD_CONF)
        env["PYTHONPATH"] = os.pathsep.join([env["PYTHONPATH"], str(scratch)])
        config = "python:no_preload_conf"
    port = pb.free_port()
    command = [str(pb.BIN / "gunicorn"), "-c", config, "--workers", str(args.workers)]
    command += ["--timeout", "600", "--bind", f"127.0.0.1:{port}", "registry:create_app()"]
    log = (scratch / f"{mode}.log").open("wb")
    started = time.perf_counter()
    server = subprocess.Popen(command, env=env, cwd=pb.ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        pb.wait_for(server, port, "site")
        for _ in range(3000):  # the port opens before the workers answer
            try:
                get(port, "/healthz")
                break
            except OSError:
                time.sleep(0.1)
        ready = time.perf_counter() - started
        first = get(port, WARM_PATHS[0])
        repeat = get(port, WARM_PATHS[0])
        for _ in range(args.workers * 3):
            for path in WARM_PATHS:
                get(port, path)
        workers = [memory(pid) for pid in workers_of(server.pid)]
        return {"ready": ready, "first": first, "repeat": repeat, "workers": workers}
    finally:
        pb.stop([server])
        log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="demo,large")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--large-folder", type=Path, default=Path("/tmp/registry-large"))  # noqa: S108
    parser.add_argument("--large-scale", type=float, default=1.0)
    parser.add_argument("--fresh-index", action="store_true")
    args = parser.parse_args()
    print(f"load average at start: {pb.load_average()}")
    print(
        "| size | mode | ready (s) | first search (ms) | repeat (ms) | per worker RSS / PSS / USS (MB) |"
    )
    print("|---|---|---:|---:|---:|---|")
    with tempfile.TemporaryDirectory(prefix="startup-bench-") as tmp:
        scratch = Path(tmp)
        for size in args.sizes.split(","):
            if size == "demo":
                folder, _ = pb.demo_folder(scratch)
            else:
                folder, _ = pb.large_folder(args.large_folder, args.large_scale)
            for mode in ("preloaded", "per-worker"):
                result = run(mode, folder, args, scratch)
                memory_text = "; ".join(
                    f"{w['rss']:.0f} / {w['pss']:.0f} / {w['uss']:.0f}" for w in result["workers"]
                )
                print(
                    f"| {size} | {mode} | {result['ready']:.1f} | {result['first']:.0f} | "
                    f"{result['repeat']:.0f} | {memory_text} |",
                    flush=True,
                )
    print(f"load average at end: {pb.load_average()}")


if __name__ == "__main__":
    main()
