"""The controlled list of practitioners' certificate types (执业资格/注册证书类型) per service
item, from seeds/catalogue/certificate_types.yaml (checked against the service items by
services/seeding.py; parsed once per process by services/controlled_lists.py, as the providers'
qualification types are). A certificate stores the canonical name in `kind`."""

from __future__ import annotations

from pathlib import Path

from registry.pure.qualification_names import spelling_key
from registry.services.controlled_lists import ControlledList, Rows


def _load(path: Path) -> Rows:
    from registry.services import seeding

    return seeding.load_certificate_types(path)


LIST = ControlledList("certificate_types.yaml", _load, spelling_key)
all_types, names, canonical = LIST.all_types, LIST.names, LIST.canonical
for_services, services_of = LIST.for_services, LIST.services_of
