"""The controlled list of qualification types (资质类型) per service item, from
seeds/catalogue/qualification_types.yaml (checked by services/seeding.py, parsed once per process;
services/controlled_lists.py reads it as it reads the certificate types). A provider's
qualification stores the canonical name in `kind`; what it typed, when that differed (or its
description of an 其他 type), stays in `kind_note`."""

from __future__ import annotations

from pathlib import Path

from registry.pure.qualification_names import normalise
from registry.services.controlled_lists import ControlledList, Rows

OTHER = "其他"
OTHER_LABEL = "其他(请注明)"


def _load(path: Path) -> Rows:
    from registry.services import seeding

    return seeding.load_qualification_types(path)


LIST = ControlledList("qualification_types.yaml", _load, normalise)
# The list's questions, as this module has always answered them (其他 last, serving nothing).
all_types, names, canonical = LIST.all_types, LIST.names, LIST.canonical
for_services, services_of = LIST.for_services, LIST.services_of


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
