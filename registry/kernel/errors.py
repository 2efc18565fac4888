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
