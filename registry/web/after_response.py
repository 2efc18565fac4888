"""Work that waits until the response has been sent (the user does not wait for it): the web
layer's side of the search index's segment merging, which the search layer asks for without
knowing what a request is."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, after_this_request, g, has_request_context


def defer(task: Callable[[], None]) -> bool:
    """Run task once this request's response is closed (once per request, however often it is
    asked for); False outside a request, so the caller runs it now."""
    if not has_request_context():
        return False
    pending: list[Callable[[], None]] = g.setdefault("after_response", [])
    if task in pending:
        return True
    pending.append(task)
    if len(pending) == 1:

        @after_this_request
        def _schedule(response):
            for queued in g.after_response:
                response.call_on_close(queued)
            return response

    return True


def install(app: Flask) -> None:
    """Let the search engine merge its index segments after the response."""
    app.extensions["search"].defer = defer
