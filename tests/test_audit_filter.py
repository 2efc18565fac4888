"""The audit log's filter: actions chosen by their Chinese names (one table of labels, which every
code the application records must be in), and from/to dates in Beijing time with Chinese
messages for dates that cannot be used."""

from __future__ import annotations

import ast
import re
from datetime import timedelta
from pathlib import Path

import pytest

from registry.extensions import db
from registry.kernel import clock
from registry.models.audit import ACTION_LABELS
from registry.services import audit
from registry.services import catalogue as catalogue_service

PACKAGE = Path(__file__).resolve().parent.parent / "registry"
CODE_RE = re.compile(r"^[a-z_]+\.[a-z_]+$")


def _constants(node: ast.AST):
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node.value
    elif isinstance(node, ast.IfExp):
        yield from _constants(node.body)
        yield from _constants(node.orelse)


def recorded_action_codes() -> dict[str, str]:
    """Every audit action code written literally in the package, with a file it is in: the
    argument a function taking an `action` parameter is called with (record, change, and the
    helpers that pass theirs on; not policy's can/require, whose `action` is a permission),
    `action=` / `denied=` keywords, UnitOfWork's refusal code,
    values assigned to a variable `action`, and `action` parameters' defaults."""
    trees = {path: ast.parse(path.read_text(encoding="utf-8")) for path in PACKAGE.rglob("*.py")}
    positions: dict[str, int] = {"UnitOfWork": 0}
    for path, tree in trees.items():
        if path.name == "policy.py":
            continue  # can(user, action), require(action): permission names, not audit codes
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef):
                names = [a.arg for a in node.args.posonlyargs + node.args.args]
                if names and names[0] in ("self", "cls"):
                    names = names[1:]
                if "action" in names:
                    positions[node.name] = names.index("action")
    found: dict[str, str] = {}
    for path, tree in trees.items():
        for node in ast.walk(tree):
            values: list[str] = []
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                index = positions.get(name)
                if index is not None and len(node.args) > index:
                    values += _constants(node.args[index])
                for keyword in node.keywords:
                    if keyword.arg in ("action", "denied"):
                        values += _constants(keyword.value)
            elif isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "action" for t in node.targets
            ):
                values += _constants(node.value)
            elif isinstance(node, ast.FunctionDef):
                args = node.args.args + node.args.kwonlyargs
                defaults = [None] * (len(node.args.args) - len(node.args.defaults))
                for arg, default in zip(
                    args, defaults + node.args.defaults + node.args.kw_defaults, strict=True
                ):
                    if arg.arg == "action" and default is not None:
                        values += _constants(default)
            for value in values:
                if CODE_RE.match(value):
                    found.setdefault(value, str(path.relative_to(PACKAGE.parent)))
    # The catalogue editors name theirs f"{object_type}.{verb}".
    for kind in vars(catalogue_service).values():
        if isinstance(kind, catalogue_service.EntryKind):
            verbs = ("create", "update", "retire", "reinstate")
            for verb in verbs if kind.put_back_in_use else verbs[:3]:
                found.setdefault(f"{kind.object_type}.{verb}", "registry/services/catalogue.py")
    return found


def test_audit_every_recorded_action_has_a_chinese_label():
    codes = recorded_action_codes()
    # The scan finds the codes (a scan that found nothing would pass anything).
    for code in ("service_item.update", "auth.login", "access.denied", "calendar.save"):
        assert code in codes, code
    assert len(codes) > 70
    missing = {code: where for code, where in codes.items() if code not in ACTION_LABELS}
    assert not missing, f"audit action codes without a label in ACTION_LABELS: {missing}"
    assert len(set(ACTION_LABELS.values())) == len(ACTION_LABELS), "two codes share a label"
    assert all(re.search(r"[\u4e00-\u9fff]", label) for label in ACTION_LABELS.values())


def _entry(app, action: str, object_id: str, at) -> None:
    with app.app_context(), clock.frozen(at):
        audit.record(action, actor_name="tester", object_type="test", object_id=object_id)
        db.session.commit()


@pytest.fixture
def admin_client(app, make_user, login, client):
    login(make_user("admin"))
    return client


def _shown(page: str) -> list[str]:
    """The object ids of the entries listed, in order."""
    return re.findall(r'<span class="code muted">[^<]+</span> · test (\S+)', page)


def test_audit_filter_offers_actions_by_chinese_name_and_lists_them(app, admin_client):
    day = clock.today() - timedelta(days=3)
    _entry(app, "service_item.update", "ZJ-03", clock.at(day, 10))
    _entry(app, "credit.publish", "XY-1", clock.at(day, 11))
    page = admin_client.get("/admin/audit").get_data(as_text=True)
    assert '<option value="service_item.update">修改中介服务事项</option>' in page
    assert '<option value="">全部操作</option>' in page
    assert "完整的操作名" not in page  # no internal code to type any more
    listed = admin_client.get("/admin/audit?action=service_item.update")
    assert listed.status_code == 200
    text = listed.get_data(as_text=True)
    assert _shown(text) == ["ZJ-03"]
    assert "修改中介服务事项" in text
    assert '<option selected value="service_item.update">' in text


def test_audit_filter_by_beijing_dates(app, admin_client):
    day = clock.today() - timedelta(days=5)
    # 23:30 Beijing is 15:30 UTC the same day; 00:10 Beijing the next day is still that UTC day.
    _entry(app, "auth.login", "late-evening", clock.at(day, 23, 30))
    _entry(app, "auth.login", "just-after-midnight", clock.at(day + timedelta(days=1), 0, 10))
    _entry(app, "auth.login", "week-before", clock.at(day - timedelta(days=7), 12))

    def shown(**args) -> list[str]:
        response = admin_client.get("/admin/audit", query_string={"action": "auth.login", **args})
        assert response.status_code == 200
        return [s for s in _shown(response.get_data(as_text=True)) if s != "None"]

    assert shown(date_from=day.isoformat(), date_to=day.isoformat()) == ["late-evening"]
    assert shown(date_from=(day + timedelta(days=1)).isoformat()) == ["just-after-midnight"]
    assert shown(date_to=(day - timedelta(days=1)).isoformat()) == ["week-before"]
    both = shown(date_from=(day - timedelta(days=7)).isoformat(), date_to=day.isoformat())
    assert both == ["week-before", "late-evening"]  # newest recorded first


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"date_from": "2026-13-01"}, "日期格式应为 YYYY-MM-DD"),
        ({"date_to": "昨天"}, "日期格式应为 YYYY-MM-DD"),
        ({"date_from": "1900-01-01"}, "日期须在 2000-01-01 至 2100-12-31 之间"),
        ({"date_from": "2026-12-05", "date_to": "2026-12-01"}, "截止日期不能早于起始日期"),
        ({"action": "service_item.destroy"}, "请从列表中选择操作类型"),
    ],
)
def test_audit_filter_bad_input_is_explained_in_chinese(admin_client, args, message):
    response = admin_client.get("/admin/audit", query_string=args)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page
    assert "筛选条件有误" in page
    assert 'class="audit-list"' not in page
