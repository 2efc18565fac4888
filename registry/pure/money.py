"""The one money format of the site: amounts in yuan as ¥142,000.00 (two decimals, thousands
separators). Pure, so the selection rules' explanations, search snippets and the pages (the
`money` filter, web/filters.py) all write amounts the same way."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation


def format_money(value: Decimal | int | str | None, empty: str = "—") -> str:
    """An amount as ¥142,000.00; decimal text from stored JSON (draw inputs) is read first. No
    amount gives `empty`."""
    if value is None or value == "":
        return empty
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    sign = "-" if amount < 0 else ""
    return f"{sign}¥{abs(amount):,.2f}"
