"""URLs in and out: absolute links built from the configured SITE_URL (never from the request's
Host header), and integer path ids bounded to what the database can hold."""

from __future__ import annotations

from typing import Any

from flask import url_for
from werkzeug.routing import IntegerConverter

from registry.models.types import MAX_ID
from registry.services.notify import absolute

__all__ = ["BoundedIntConverter", "absolute", "external_url"]


def external_url(endpoint: str, **values: Any) -> str:
    """The absolute address of an endpoint: SITE_URL followed by its path (feeds, exports and
    the API publish these; a forged Host header must not turn them into someone else's links)."""
    return absolute(url_for(endpoint, **values))


class BoundedIntConverter(IntegerConverter):
    """Flask's `<int:…>` with an upper bound: an id beyond MAX_ID does not match the route, so it
    answers 404 instead of overflowing the database driver (a 500). Digit strings too long for
    int() are refused by werkzeug already."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)
