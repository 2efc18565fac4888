"""How many of 25 wrong-password sign-ins a "10 per minute" login limit lets through, per storage
and gunicorn worker count: memory:// counts per worker, registry-db:// and Redis count once.

    .venv/bin/python bench/rate_limit_bench.py [redis://127.0.0.1:6379/0]

Starts a real gunicorn (--preload) on a fresh SQLite file for each row; about 5 s a row.
"""

from __future__ import annotations

import sys
import tempfile
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from registry.extensions import db  # noqa: E402
from tests.conftest import make_app  # noqa: E402
from tests.test_rate_limits import sign_in_tries  # noqa: E402


def fresh_database(folder: Path) -> str:
    """An SQLite file with the schema."""
    url = f"sqlite:///{folder / 'bench.db'}"
    app = make_app(url, folder)
    with app.app_context():
        db.create_all()
        db.session.remove()
        db.engine.dispose()
    return url


def main() -> None:
    storages = ["memory://", "registry-db://", *sys.argv[1:]]
    print("storage                    workers  let through (of 25)  429  workers answering")
    for storage in storages:
        for workers in (1, 2, 4):
            with tempfile.TemporaryDirectory() as name:
                folder = Path(name)
                env = {"REGISTRY_RATELIMIT_KEY_PREFIX": f"bench-{uuid.uuid4().hex}"}
                codes, answered = sign_in_tries(
                    fresh_database(folder), folder, workers, storage, extra_env=env
                )
            through = sum(code != 429 for code in codes)
            print(
                f"{storage:<26} {workers:>7}  {through:>19}  {codes.count(429):>3}  {answered:>17}"
            )


if __name__ == "__main__":
    main()
