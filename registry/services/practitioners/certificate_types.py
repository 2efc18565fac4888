"""The controlled list of practitioners' certificate types (执业资格/注册证书类型) per service
item, from seeds/catalogue/certificate_types.yaml (checked against the service items by
services/seeding.py; the YAML is parsed once per process). A certificate stores the canonical
name in `kind`."""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from flask import current_app, has_app_context

from registry.config import PROJECT_ROOT

FILE = Path("catalogue") / "certificate_types.yaml"


@dataclass(frozen=True)
class CertificateType:
    """One entry of the list: code, canonical name, the service items it serves, its basis."""

    code: str
    name: str
    services: tuple[str, ...]
    basis: str
    source_note: str
    aliases: tuple[str, ...] = ()


def _seeds_dir() -> Path:
    if has_app_context():
        return Path(current_app.config["SEEDS_DIR"])
    return PROJECT_ROOT / "seeds"


def all_types() -> tuple[CertificateType, ...]:
    """Every type on the list, in file order."""
    path = _seeds_dir() / FILE
    return _types(str(path.resolve()), path.stat().st_mtime_ns)


@functools.lru_cache(maxsize=8)
def _types(path: str, _mtime_ns: int) -> tuple[CertificateType, ...]:
    from registry.services import seeding

    return tuple(
        CertificateType(
            code=row["code"],
            name=row["name"],
            services=tuple(row["services"]),
            basis=row["basis"],
            source_note=row["source_note"],
            aliases=tuple(row["aliases"]),
        )
        for row in seeding.load_certificate_types(Path(path))
    )


def _key(text: str | None) -> str:
    return "".join(unicodedata.normalize("NFKC", text or "").split())


@functools.lru_cache(maxsize=8)
def _lookup(types: tuple[CertificateType, ...]) -> dict[str, str]:
    return {_key(s): t.name for t in types for s in (t.name, *t.aliases)}


def names() -> list[str]:
    """The canonical names, in list order."""
    return [t.name for t in all_types()]


def canonical(text: str | None) -> str | None:
    """The canonical name a typed type stands for (NFKC, whitespace ignored; aliases too), or
    None when it is not on the list."""
    key = _key(text)
    return _lookup(all_types()).get(key) if key else None


def for_services(codes: Iterable[str]) -> list[str]:
    """The listed types serving any of these service item codes, in list order."""
    wanted = set(codes)
    return [t.name for t in all_types() if wanted.intersection(t.services)]


def services_of(name: str) -> tuple[str, ...]:
    """The service item codes a listed type serves (empty for unknown names)."""
    return next((t.services for t in all_types() if t.name == name), ())
