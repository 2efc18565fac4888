"""Unbound extension singletons, bound to an app in create_app()."""

from typing import ClassVar

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Registers the registry-db:// rate-limit storage (counters in the app's own database) with limits.
from registry import ratelimit_storage  # noqa: F401

# Stable constraint names so Alembic migrations are identical on SQLite (batch mode) and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base carrying the naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)

    # How the audit log names a row (services.audit.record(..., of=row)): its type, and the
    # attribute people know it by. Models that are audited set audit_type.
    audit_type: ClassVar[str | None] = None
    audit_key: ClassVar[str] = "id"

    def __repr__(self) -> str:
        # A row shows itself by the same key, read from its loaded state only: a repr must
        # never query the database (nor fail on a detached row).
        return f"<{type(self).__name__} {self.__dict__.get(self.audit_key)}>"


db = SQLAlchemy(model_class=Base)
migrate = Migrate(render_as_batch=True, compare_type=True)
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
