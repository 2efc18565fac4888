"""The controlled list of qualification types (资质类型) per service item, from
seeds/catalogue/qualification_types.yaml (loaded by services/seeding.py; the YAML is parsed once
per process). A provider's qualification stores the canonical name in `kind`; what it typed, when
that differed (or its description of an 其他 type), stays in `kind_note`."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from flask import current_app, has_app_context

from registry.config import PROJECT_ROOT
from registry.pure.qualification_names import normalise

OTHER = "其他"
OTHER_LABEL = "其他(请注明)"
FILE = Path("catalogue") / "qualification_types.yaml"


@dataclass(frozen=True)
class QualificationType:
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


def all_types() -> tuple[QualificationType, ...]:
    """Every type on the list, in file order (其他 last)."""
    path = _seeds_dir() / FILE
    stat = path.stat()
    return _types(str(path.resolve()), stat.st_mtime_ns)


@functools.lru_cache(maxsize=8)
def _types(path: str, _mtime_ns: int) -> tuple[QualificationType, ...]:
    from registry.services import seeding

    return tuple(
        QualificationType(
            code=row["code"],
            name=row["name"],
            services=tuple(row["services"]),
            basis=row["basis"],
            source_note=row["source_note"],
            aliases=tuple(row["aliases"]),
        )
        for row in seeding.load_qualification_types(Path(path))
    )


@functools.lru_cache(maxsize=8)
def _lookup(types: tuple[QualificationType, ...]) -> dict[str, str]:
    lookup: dict[str, str] = {}
    for entry in types:
        for spelling in (entry.name, *entry.aliases):
            lookup.setdefault(normalise(spelling), entry.name)
    return lookup


def names() -> list[str]:
    """The canonical names, in list order (其他 last)."""
    return [t.name for t in all_types()]


def canonical(text: str | None) -> str | None:
    """The canonical name a typed type stands for (after normalisation), or None when it is
    not on the list."""
    key = normalise(text)
    return _lookup(all_types()).get(key) if key else None


def for_services(codes: Iterable[str]) -> list[str]:
    """The listed types serving any of these service item codes, in list order (never 其他)."""
    wanted = set(codes)
    return [t.name for t in all_types() if wanted.intersection(t.services)]


def services_of(name: str) -> tuple[str, ...]:
    """The service item codes a listed type serves (empty for 其他 and unknown names)."""
    return next((t.services for t in all_types() if t.name == name), ())


def matches(requirement: str | None, kind: str, note: str | None) -> bool:
    """Whether a qualification (canonical kind and typed note) meets a request's 资质要求: the
    same canonical type, or (requests written before the list) the requirement's text inside
    the kind or the note as typed."""
    wanted = (requirement or "").strip()
    if not wanted:
        return True
    target = canonical(wanted)
    if target is not None and target != OTHER and target == kind:
        return True
    return wanted in kind or wanted in (note or "")
