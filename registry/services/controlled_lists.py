"""Controlled lists of types tied to service items — the providers' qualification types (资质类型)
and the practitioners' certificate types (证书类型): one YAML file under seeds/catalogue each,
checked here when it is read (services/seeding.py also checks its service codes), parsed once per
process and looked up by a normalised spelling."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import current_app, has_app_context

from registry.config import PROJECT_ROOT
from registry.services.errors import RegistryError

Rows = list[dict[str, Any]]


@dataclass(frozen=True)
class ListedType:
    """One entry of a list: code, canonical name, the service items it serves, its basis and
    the source tag of that basis, and other spellings of the name."""

    code: str
    name: str
    services: tuple[str, ...]
    basis: str
    source_note: str
    aliases: tuple[str, ...] = ()


def check_rows(path: Path, rows: Rows, label: str, normalise: Callable[[str], str]) -> Rows:
    """The checks every list shares: code, name, basis and source tag present; services and
    aliases as lists of text; no spelling (name or alias, normalised) used by two entries."""
    seen: dict[str, str] = {}
    for row in rows:
        for key in ("code", "name", "basis", "source_note"):
            if not str(row.get(key) or "").strip():
                raise RegistryError(None, f"{path.name}:{label} {row.get('code')} 缺少 {key}")
        row["code"], row["name"] = str(row["code"]), str(row["name"]).strip()
        row["services"] = [str(s) for s in row.get("services") or []]
        row["aliases"] = [str(a) for a in row.get("aliases") or []]
        for spelling in (row["name"], *row["aliases"]):
            if seen.setdefault(normalise(spelling), row["code"]) != row["code"]:
                raise RegistryError(None, f"{path.name}:{label}写法重复:{spelling}")
    return rows


class ControlledList:
    """A list read from seeds/catalogue/<filename> through load (seeding's checked reader)."""

    def __init__(
        self, filename: str, load: Callable[[Path], Rows], normalise: Callable[[str], str]
    ) -> None:
        self.file = Path("catalogue") / filename
        self._load = load
        self._normalise = normalise

    def all_types(self) -> tuple[ListedType, ...]:
        """Every type on the list, in file order (read again only when the file changes)."""
        seeds = (
            Path(current_app.config["SEEDS_DIR"]) if has_app_context() else PROJECT_ROOT / "seeds"
        )
        path = seeds / self.file
        return _parsed(str(path.resolve()), path.stat().st_mtime_ns, self._load)

    def names(self) -> list[str]:
        """The canonical names, in list order."""
        return [t.name for t in self.all_types()]

    def canonical(self, text: str | None) -> str | None:
        """The canonical name a typed type stands for (normalised; aliases too), or None when it
        is not on the list."""
        key = self._normalise(text or "")
        return _lookup(self.all_types(), self._normalise).get(key) if key else None

    def for_services(self, codes: Iterable[str]) -> list[str]:
        """The listed types serving any of these service item codes, in list order."""
        wanted = set(codes)
        return [t.name for t in self.all_types() if wanted.intersection(t.services)]

    def services_of(self, name: str) -> tuple[str, ...]:
        """The service item codes a listed type serves (empty for unknown names)."""
        return next((t.services for t in self.all_types() if t.name == name), ())


@functools.lru_cache(maxsize=16)
def _parsed(path: str, _mtime_ns: int, load: Callable[[Path], Rows]) -> tuple[ListedType, ...]:
    return tuple(
        ListedType(
            code=row["code"],
            name=row["name"],
            services=tuple(row["services"]),
            basis=row["basis"],
            source_note=row["source_note"],
            aliases=tuple(row["aliases"]),
        )
        for row in load(Path(path))
    )


@functools.lru_cache(maxsize=16)
def _lookup(types: tuple[ListedType, ...], normalise: Callable[[str], str]) -> dict[str, str]:
    lookup: dict[str, str] = {}
    for entry in types:
        for spelling in (entry.name, *entry.aliases):
            lookup.setdefault(normalise(spelling), entry.name)
    return lookup
