"""Domain errors that views map onto form fields or error pages; raised by services and by the
pure rules alike, so they live below both."""

from __future__ import annotations


class RegistryError(Exception):
    """A rule was broken; message is user-facing Chinese, field names the form field (or None)."""

    def __init__(self, field: str | None, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


class NotFound(RegistryError):
    """The object does not exist (or the caller may not know that it does)."""

    def __init__(self, message: str = "未找到该记录"):
        super().__init__(None, message)


class Forbidden(RegistryError):
    """The caller may not do this to this object."""

    def __init__(self, message: str = "无权执行此操作"):
        super().__init__(None, message)


class RegistryErrors(RegistryError):
    """Several broken rules found together, so that a form lists every problem at once; the
    message joins them for a flash or the API, and forms take each onto its own field."""

    def __init__(self, errors: list[RegistryError]):
        super().__init__(errors[0].field, ";".join(e.message.rstrip("。") for e in errors) + "。")
        self.errors = errors


class Checks:
    """Runs independent checks and keeps the RegistryError of each that fails (NotFound and
    Forbidden stop at once), then `done()` raises them together: RegistryErrors, or the one."""

    def __init__(self, *found: RegistryError | None):
        self.errors: list[RegistryError] = [e for e in found if e is not None]

    def __call__(self, check, *args, **kwargs):
        """check(*args, **kwargs), or None when it raised a RegistryError (kept for done())."""
        try:
            return check(*args, **kwargs)
        except (NotFound, Forbidden):
            raise
        except RegistryError as error:
            self.errors.extend(getattr(error, "errors", [error]))
            return None

    def done(self) -> None:
        if len(self.errors) == 1:
            raise self.errors[0]
        if self.errors:
            raise RegistryErrors(self.errors)
