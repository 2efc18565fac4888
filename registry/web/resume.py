"""A form sent after the session timed out is not lost: the sign-in page carries what was typed
(as hidden fields of its own form, in the browser that typed it; nothing is stored on the
server), and after signing in again as the same account the user sends it on with one button.

Only a POST whose CSRF token was still valid is carried (the check runs before the timeout is
noticed), so a forged request cannot plant text in someone's form. Passwords, the CSRF token and
a confirmation page's flag are never carried (an irreversible act shows its confirmation page
again); chosen files cannot be carried and must be chosen again."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Request, Response, make_response, render_template, request

from registry.web.unit_of_work import CONFIRM_FIELD, EDIT_FIELD

# The sign-in form's names for the carried fields and the account they belong to.
PREFIX = "resume:"
FOR_FIELD = "resume_for"
# More text than this is not carried (the page would be too large); the old answer applies.
MAX_CARRIED = 200_000
_NEVER = {"csrf_token", CONFIRM_FIELD, EDIT_FIELD}


def _carried(name: str) -> bool:
    return name not in _NEVER and "password" not in name


def carried_fields(posted: Request) -> list[tuple[str, str]] | None:
    """The fields of a POST worth carrying through a new sign-in, or None when there is nothing
    to carry (or too much). The account pages' forms (passwords) are never carried."""
    if posted.blueprint == "auth":
        return None
    fields = [(n, v) for n, v in posted.form.items(multi=True) if _carried(n)]
    if not fields or sum(len(n) + len(v) for n, v in fields) > MAX_CARRIED:
        return None
    return fields


def had_files(posted: Request) -> bool:
    """Whether the POST carried chosen files (they must be chosen again)."""
    return any(f.filename for f in posted.files.values())


@dataclass(frozen=True)
class Carried:
    """What a sign-in page carries: whose form it was, its fields, and whether files were lost."""

    username: str
    fields: list[tuple[str, str]]
    files_dropped: bool = False


def sign_in_again(form, username: str, fields: list[tuple[str, str]], back: str) -> Response:
    """The sign-in page for a session that timed out while a form was being filled in: the
    account's name filled in, and what was typed carried to be sent on after signing in."""
    form.username.data = username
    carried = Carried(username, fields, had_files(request))
    return private(render_template("auth/login.html", form=form, resume=carried, action=back))


def carry_on(action: str, carried: Carried, back: str) -> Response:
    """Signed in again as the form's account: the page that sends the form on by one button
    (or `back` to the landing page, dropping it)."""
    page = render_template("auth/resume.html", action=action, fields=carried.fields, back=back)
    return private(page)


def private(page: str, status: int = 200) -> Response:
    """A page holding what someone typed: never kept by the browser or a proxy (the sign-in page
    is an anonymous page, which gets no `no-store` of its own: a reviewer, stop 31)."""
    response = make_response(page, status)
    response.headers["Cache-Control"] = "no-store"
    return response


def from_sign_in() -> Carried | None:
    """What a sign-in form carries (None on a plain sign-in)."""
    fields = [
        (name.removeprefix(PREFIX), value)
        for name, value in request.form.items(multi=True)
        if name.startswith(PREFIX) and _carried(name.removeprefix(PREFIX))
    ]
    if not fields:
        return None
    return Carried(request.form.get(FOR_FIELD, ""), fields)
