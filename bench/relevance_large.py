"""The search relevance set (tests/search_relevance.yaml) on the large data set (issue 16): the
catalogue among thousands of provider profiles, award notices and credit notices that mention
every service by name and abbreviation. The test suite runs the same judgements on the catalogue
alone and with the demo marketplace (tests/test_search_relevance.py); this corpus takes minutes
to build, so it runs from here.

Not part of the test suite. Build the data set first (bench/large_data.py), then:

    .venv/bin/python bench/relevance_large.py /tmp/registry-large                  # Whoosh
    .venv/bin/python bench/relevance_large.py /tmp/registry-large \
        --pg-url postgresql://postgres@127.0.0.1:5432/relevance_large               # and PostgreSQL

Whoosh: the index is rebuilt with the current code into a temporary folder (the data set's own
index is left alone). PostgreSQL: the data set is copied into the (existing, emptied) database
with large_data.load_postgresql and its search documents are rebuilt. Prints each query's
verdict, the totals per backend and category, and exits 1 when a query fails.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import large_data  # noqa: E402

from registry import create_app  # noqa: E402
from registry.extensions import db  # noqa: E402
from registry.search.base import SearchRequest  # noqa: E402
from registry.search.engine import get_engine  # noqa: E402
from registry.search.query import parse_query  # noqa: E402
from tests.relevance import FIRST_CATEGORIES, RELEVANCE, judge  # noqa: E402


def run(app, label: str) -> int:
    """Rebuild the index, run every query, print verdicts; returns the number of failures."""
    with app.app_context():
        engine = get_engine()
        engine.allow_forks()
        began = time.perf_counter()
        count = engine.rebuild()
        print(f"\n## {label}: {count:,} documents indexed in {time.perf_counter() - began:.1f} s")
        failed, by_category, times = 0, Counter(), []
        for case in RELEVANCE:
            began = time.perf_counter()
            result = engine.search(SearchRequest(parse_query(case["query"])))
            times.append(time.perf_counter() - began)
            top = [h.doc_id for h in result.hits[:3]]
            verdict = judge(case, top)
            by_category[(case["category"], verdict is None)] += 1
            if verdict:
                failed += 1
                print(f"FAIL {verdict}")
            else:
                print(f"pass {case['query']} ({case['category']}): {top}")
        db.session.remove()
    times.sort()
    print(f"\n{label}: {len(RELEVANCE) - failed}/{len(RELEVANCE)} queries pass")
    for category in sorted({c for c, _ in by_category}):
        passed, total = (
            by_category[(category, True)],
            sum(by_category[(category, ok)] for ok in (True, False)),
        )
        rule = "first" if category in FIRST_CATEGORIES else "top 3"
        print(f"  {category:16} {passed}/{total} ({rule})")
    print(
        f"  query time p50 {times[len(times) // 2] * 1000:.0f} ms, "
        f"p95 {times[int(len(times) * 0.95)] * 1000:.0f} ms, max {times[-1] * 1000:.0f} ms"
    )
    return failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="a data set built by bench/large_data.py")
    parser.add_argument("--pg-url", help="also run on the PostgreSQL backend in this database")
    parser.add_argument("--no-whoosh", action="store_true", help="PostgreSQL only")
    args = parser.parse_args()
    folder = args.folder.resolve()
    if not (folder / "registry.db").exists():
        sys.exit(f"{folder} holds no data set: run bench/large_data.py first")
    # Migrations added since the build (other work on the schema) are applied to the copy.
    large_data._cli({**os.environ, **large_data.environment(folder)}, "init-db")  # noqa: SLF001
    common = {
        "SEEDS_DIR": str(ROOT / "seeds"),
        "UPLOAD_DIR": str(folder / "uploads"),
        "MAIL_DIR": str(folder / "mail"),
    }
    failed = 0
    if not args.no_whoosh:
        with tempfile.TemporaryDirectory(prefix="relevance-index-") as index:
            app = create_app(
                {
                    **common,
                    "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'registry.db'}",
                    "SEARCH_BACKEND": "whoosh",
                    "SEARCH_INDEX_DIR": index,
                }
            )
            failed += run(app, "Whoosh (SQLite)")
    if args.pg_url:
        seconds = large_data.load_postgresql(folder, args.pg_url)
        print(f"\ncopied the data set into {args.pg_url} in {seconds} s")
        app = create_app(
            {
                **common,
                "SQLALCHEMY_DATABASE_URI": args.pg_url,
                "SEARCH_BACKEND": "postgresql",
                "SEARCH_INDEX_DIR": str(folder / "index"),
            }
        )
        failed += run(app, "PostgreSQL full text")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
