"""Clearly marked demo data (示例): demo accounts with random passwords, printed once by the CLI."""

from __future__ import annotations

from registry.models.accounts import Role
from registry.services import accounts

DEMO_ACCOUNTS = [
    ("demo-admin", Role.ADMIN, None, "示例管理员(政务办)"),
    ("demo-staff", Role.STAFF, None, "示例帮办管家"),
    ("demo-enterprise", Role.ENTERPRISE, None, "示例企业:天津某某科技有限公司(示例)"),
    ("demo-provider", Role.PROVIDER, None, "示例中介机构:天津某某环境咨询有限公司(示例)"),
    ("demo-regulator-sthj", Role.REGULATOR, "STHJ", "示例监管员·市生态环境局"),
    ("demo-regulator-sw", Role.REGULATOR, "SW", "示例监管员·市水务局"),
]


def seed_demo_accounts() -> list[tuple[str, str, str]]:
    """Create missing demo accounts; returns (username, role, password) for the new ones only."""
    created = []
    for username, role, department, display in DEMO_ACCOUNTS:
        if accounts.find_user(username) is not None:
            continue
        password = accounts.generate_password()
        accounts.create_user(
            username=username,
            password=password,
            role=role.value,
            department_code=department,
            display_name=display,
            is_demo=True,
            actor_name="system:seed-demo",
        )
        created.append((username, role.label, password))
    return created
