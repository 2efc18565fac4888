"""One unit of work per request, in the spirit of indico's request handler `process()`: validate
the form, call one service, show a domain error on the form or as a flash, answer not-found and
forbidden in one place (a forbidden attempt audited), answer a stale edit, and commit exactly once
(or roll back). The web layer commits nowhere else."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn, Required, TypedDict, Unpack

from flask import abort, flash, make_response, redirect, render_template, request
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy.orm.exc import StaleDataError

from registry.database import write_intent
from registry.extensions import db
from registry.models.accounts import User
from registry.services import audit
from registry.services.errors import Forbidden, NotFound, RegistryError
from registry.web.forms import apply_error

# The flag the confirmation page's button carries: without it an irreversible act only shows
# what it would make public (see UnitOfWork.confirm).
CONFIRM_FIELD = "confirmed"
# The confirmation page's 返回修改 button: the same fields back on the form, to change them.
EDIT_FIELD = "edit"
IRREVERSIBLE = "确认后立即公开,不能撤回。"

STALE_MESSAGE = (
    "本次操作未生效:您打开页面之后,该记录已被他人修改。请刷新页面,核对最新内容后再操作。"
)


def actor() -> User:
    """The signed-in user acting in this request (the user object, not the proxy)."""
    return current_user._get_current_object()


def commit() -> None:
    """The web layer's one commit."""
    db.session.commit()


def record_denial(detail: str, action: str = "access.denied") -> None:
    """Write one refused attempt to the audit log in its own small transaction (whatever the
    request had pending is rolled back first)."""
    user = actor() if current_user.is_authenticated else None
    actor_id, actor_name = (user.id, user.username) if user is not None else (None, None)
    db.session.rollback()
    write_intent.set(True)  # this is a write, whatever the request's method
    audit.record(
        action,
        actor_name=actor_name,
        outcome="denied",
        object_type="endpoint",
        object_id=request.endpoint,
        detail=f"{request.method} {request.path}: {detail}",
    ).actor_id = actor_id
    commit()


def confirmed() -> bool:
    """Whether this POST carries the confirmation page's flag (its 确认发布 button, not its
    返回修改 button)."""
    return request.form.get(CONFIRM_FIELD) == "1" and request.form.get(EDIT_FIELD) != "1"


class Button(TypedDict, total=False):
    """A button's POST (act, confirm, publish): where it goes `back` to, and its `form` with what
    to say when that is `invalid` (no message: 400)."""

    back: Required[str]
    form: FlaskForm | None
    invalid: str | None


def _check_button(**button: Unpack[Button]) -> str:
    """A button's form must validate: otherwise flash `invalid` and go `back` (400 without one).
    Returns `back`."""
    form, invalid, back = button.get("form"), button.get("invalid"), button["back"]
    if form is not None and not form.validate_on_submit():
        if invalid is None:
            abort(400)
        flash(invalid, "error")
        abort(redirect(back))
    return back


@dataclass(frozen=True)
class Confirmation:
    """What the confirmation page of an irreversible act names: `facts` as (label, value) pairs,
    an optional table (`columns`, `rows`), `carry` (the form's fields posted again with the
    flag) and what cannot be undone (`warning`)."""

    title: str
    facts: list[tuple[str, str]]
    columns: tuple[str, ...] = ()
    rows: list[tuple[str, ...]] | None = None
    carry: dict[str, str] | None = None
    warning: str = IRREVERSIBLE
    button: str = "确认发布"  # the confirming button (and what has not happened yet)


@dataclass(frozen=True)
class Outcome:
    """What a unit of work came to: true when it committed (`value` is what the service
    returned); false with the domain `error` it showed, or with none when the form was not
    submitted or did not validate."""

    done: bool
    value: Any = None
    error: RegistryError | None = None

    def __bool__(self) -> bool:
        return self.done


class UnitOfWork:
    """How one blueprint's requests run: one instance per blueprint says how refusals are
    answered and audited and what a stale edit says.

    `denied` is the audit action of a forbidden attempt (None: not audited); with `refuses` a
    NotFound or Forbidden raised by the service answers 404 (a Forbidden `status`), without it
    they are shown like any other domain error. A Forbidden naming a field is a refused value
    on the form: audited, and shown there. `undo` runs after every rollback (a cache that must
    forget what was not committed)."""

    def __init__(
        self,
        denied: str | None = None,
        *,
        refuses: bool = True,
        status: int = 404,
        stale: str = STALE_MESSAGE,
        undo: Callable[[], None] | None = None,
    ) -> None:
        self.denied, self.refuses, self.status = denied, refuses, status
        self.stale, self.undo = stale, undo

    def rollback(self) -> None:
        """Drop what the request had pending."""
        db.session.rollback()
        if self.undo is not None:
            self.undo()

    def refuse(self, error: RegistryError, status: int | None = None) -> NoReturn:
        """Answer a missing or forbidden object: 404, or `status` for a forbidden one (audited
        when the blueprint audits refusals). Never confirms that another party's object exists."""
        self.rollback()
        if isinstance(error, NotFound):
            abort(404)
        if self.denied is not None:
            record_denial(error.message, action=self.denied)
        abort(status or self.status)

    def found(self, getter: Callable[..., Any], *args: Any, status: int | None = None) -> Any:
        """What getter(*args) loads, or the refusal answered (see `refuse`)."""
        try:
            return getter(*args)
        except (NotFound, Forbidden) as error:
            self.refuse(error, status)

    def scope(self, load: Callable[[], Any], template: str, **empty: Any) -> Any:
        """What load() gives as the signed-in user's scope (a regulator's department, a
        provider's firm); a user without one gets the page `template` with the reason
        (`message`) and the `empty` context instead."""
        try:
            return load()
        except RegistryError as error:
            self.rollback()
            abort(make_response(render_template(template, message=error.message, **empty)))

    def submit(self, form: FlaskForm, call: Callable[[], Any], **options: Any) -> Outcome:
        """A form page's POST: when the form validates, run the unit of work (see `run`)."""
        if not form.validate_on_submit():
            return Outcome(False)
        return self.run(call, form=form, **options)

    def act(self, call: Callable[[], Any], *, prefix: str = "", **button: Unpack[Button]) -> Any:
        """A button's POST: check its form (invalid: flash `invalid` and go `back`, or 400
        without one), run the unit of work and return what the service returned. A domain
        error or a stale edit is flashed and answered with a redirect `back`."""
        back = _check_button(**button)
        return self.run(call, back=back, prefix=prefix).value

    def press(
        self,
        call: Callable[[], Any],
        *,
        back: str,
        done: str | Callable[[Any], str],
        to: str | None = None,
        **options: Any,
    ) -> Any:
        """A button's POST to its end: `act` (options as there), then flash `done` (a message, or a
        function of what the service returned) and go `to` the next page (default `back`)."""
        value = self.act(call, back=back, **options)
        flash(done(value) if callable(done) else done, "success")
        return redirect(to or back)

    def confirm(self, preview: Callable[[], Confirmation], **button: Unpack[Button]) -> Any:
        """An irreversible act's first POST (no confirmation flag): check its form as `act`
        does, build the confirmation page from `preview` (which only reads; a domain error is
        flashed with a redirect `back`), roll back whatever was loaded, and show the page. Nothing
        is stored; its 确认发布 button posts the same form again with the flag."""
        back = _check_button(**button)
        return self._confirmation(preview, back=back, form=None)

    def confirm_form(
        self,
        form: FlaskForm,
        preview: Callable[[], Confirmation],
        *,
        back: str,
        template: str,
        **context: Any,
    ) -> Any:
        """A form page's irreversible act, first POST (the form validated, no confirmation flag):
        the confirmation page from `preview`, or the form again (`template`) with the domain
        error `preview` raised on its field, the input kept. The page's 返回修改 button posts the
        fields back to the form, to change them (nothing typed is lost)."""
        if request.form.get(EDIT_FIELD) == "1":
            return render_template(template, form=form, **context)
        shown = self._confirmation(preview, back=back, form=form)
        if isinstance(shown, Outcome):
            return render_template(template, form=form, **context)
        return shown

    def _confirmation(
        self, preview: Callable[[], Confirmation], *, back: str, form: FlaskForm | None
    ) -> Any:
        """The confirmation page (its 返回 link `back`); a domain error from `preview` goes onto
        `form`, or without one is flashed with a redirect `back`."""
        try:
            shown = preview()
        except RegistryError as error:
            self._end_refused(error, keep=False)
            return self._show(error, form, None if form is not None else back, "")
        finally:
            self.rollback()
        return render_template(
            "confirm.html",
            confirmation=shown,
            action=request.path,
            back=back,
            flag=CONFIRM_FIELD,
            edit=EDIT_FIELD if form is not None else None,
        )

    def publish(
        self,
        preview: Callable[[], Confirmation],
        call: Callable[[], Any],
        *,
        done: str | Callable[[Any], str],
        **button: Unpack[Button],
    ) -> Any:
        """An irreversible act's POST: without the confirmation flag the page `preview` builds
        (see `confirm`), with it the act itself (see `press`, which flashes `done`); `button`
        is the same for both."""
        if not confirmed():
            return self.confirm(preview, **button)
        return self.press(call, done=done, **button)

    def page(
        self,
        form: FlaskForm,
        call: Callable[[], Any],
        *,
        done: str | Callable[[Any], str],
        to: str | Callable[[Any], str],
        template: str,
        keep: bool = False,
        **context: Any,
    ) -> Any:
        """A form page to its end: when the submitted form commits (see `submit`; `keep` as in
        `run`), flash `done` and go `to` the next page (each a text, or a function of what the
        service returned); otherwise the page again (`template` with the form, its errors and
        `context`)."""
        saved = self.submit(form, call, keep=keep)
        if saved:
            flash(done(saved.value) if callable(done) else done, "success")
            return redirect(to(saved.value) if callable(to) else to)
        return render_template(template, form=form, **context)

    def run(
        self,
        call: Callable[[], Any],
        *,
        form: FlaskForm | None = None,
        back: str | None = None,
        keep: bool = False,
        prefix: str = "",
    ) -> Outcome:
        """Call the service and commit once. A domain error rolls back (with `keep` what the
        refused attempt wrote, a failure count or its audit entry, is committed) and is shown:
        on the form when it names one of its fields or no `back` is given, otherwise flashed
        (after `prefix`) with a redirect `back`; with neither it is returned for the caller to
        show. A stale edit, found by the service or at commit, is such an error."""
        try:
            value = call()
            commit()
        except StaleDataError:
            self.rollback()
            return self._show(RegistryError(None, self.stale), form, back, prefix)
        except RegistryError as error:
            self._end_refused(error, keep)
            return self._show(error, form, back, prefix)
        return Outcome(True, value)

    def _end_refused(self, error: RegistryError, keep: bool) -> None:
        refused = isinstance(error, NotFound | Forbidden) and self.refuses
        if refused and not (isinstance(error, Forbidden) and error.field):
            self.refuse(error)
        if refused and self.denied is not None:
            record_denial(error.message, action=self.denied)  # rolls back first
        elif keep:
            commit()
        else:
            self.rollback()

    @staticmethod
    def _show(
        error: RegistryError, form: FlaskForm | None, back: str | None, prefix: str
    ) -> Outcome:
        if form is not None and (back is None or (error.field and error.field in form)):
            apply_error(form, error)
        elif back is not None:
            flash(prefix + error.message, "error")
            abort(redirect(back))
        return Outcome(False, error=error)
