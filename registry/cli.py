"""The `registry` command group (same as `flask --app registry ...`)."""

from __future__ import annotations

import functools
import logging
import os
import secrets
import signal
import sys
from collections.abc import Callable
from datetime import date, datetime, time
from pathlib import Path

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext
from flask_migrate import upgrade
from sqlalchemy.exc import OperationalError

from registry import running
from registry.database import read_only
from registry.demo import accounts as demo_accounts
from registry.demo import market as demo_market
from registry.extensions import db
from registry.kernel import clock
from registry.pure import workdays
from registry.search.engine import get_engine
from registry.serve import serve
from registry.services import (
    accounts,
    audit,
    backups,
    calendars,
    delivery,
    expiring,
    grades,
    jobs,
    market,
    practitioners,
    providers,
    roadmaps,
    seeding,
)
from registry.services.errors import RegistryError


def _fail(message: str) -> None:
    raise click.ClickException(message)


def _while_running(command: Callable) -> Callable:
    """A command that writes as the site does: it holds the run lock (registry/running.py) while
    it runs, so that a restore refuses meanwhile, and it refuses during a restore."""

    @functools.wraps(command)
    def held(*args: object, **kwargs: object) -> object:
        try:
            with running.serving(current_app):
                return command(*args, **kwargs)
        except running.Busy as error:
            _fail(error.message)

    return held


@click.command("init-db")
@with_appcontext
def init_db() -> None:
    """Create instance/config.py (with a secret key) if missing and migrate the database to head."""
    instance = Path(current_app.instance_path)
    config_file = instance / "config.py"
    instance.mkdir(parents=True, exist_ok=True)
    # Only the site's own account may read the database, uploads and mail kept here (a folder
    # another account owns is left to its owner, with a word).
    if instance.stat().st_uid == os.getuid():
        instance.chmod(0o700)
    else:
        click.echo(f"注意:{instance} 不属于当前账户,未收紧其权限;请确认只有站点账户可读。")
    if not config_file.exists():
        fd = os.open(config_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write('"""Local settings of this installation (not in git)."""\n\n')
            handle.write(f'SECRET_KEY = "{secrets.token_hex(32)}"\n')
        click.echo(f"已生成 {config_file}(含随机 SECRET_KEY)")
    upgrade()
    click.echo("数据库已迁移到最新版本。")
    # Plans are stored (services/roadmaps/stored.py): projects from before that get theirs now.
    stored = jobs.run_committing(roadmaps.store_missing_plans())
    if stored:
        click.echo(f"已为 {stored} 个项目保存审批路线图排期。")


@click.command("seed")
@click.option("--demo", "with_demo", is_flag=True, help="Also add clearly marked demo data (示例).")
@with_appcontext
@_while_running
def seed(with_demo: bool) -> None:
    """Load the real catalogue from seeds/ (idempotent); with --demo also demo accounts."""
    try:
        report = seeding.seed_catalogue(Path(current_app.config["SEEDS_DIR"]))
        # Official arrangements of years the calendar package does not ship yet (or corrects).
        calendar_years = calendars.load_files(current_app.config.get("CALENDAR_DIR"))
        templates = roadmaps.seed_templates(Path(current_app.config["SEEDS_DIR"]))
        created = demo_accounts.seed_demo_accounts() if with_demo else []
        marketplace = demo_market.seed_demo_market() if with_demo else None
        # Projects registered before roadmaps existed get theirs once the templates are there.
        backfilled = roadmaps.ensure_roadmaps("system:seed")
    except RegistryError as error:
        db.session.rollback()
        _fail(error.message)
    db.session.commit()
    for kind, counts in report.counts.items():
        click.echo(
            f"{kind}: 新增 {counts['created']},更新 {counts['updated']},未变 {counts['unchanged']}"
            + (f",已由管理员修改而保留 {counts['kept']}" if counts["kept"] else "")
        )
    click.echo(f"roadmap_templates: 新增 {templates['created']},未变 {templates['unchanged']}")
    if any(calendar_years.values()):
        click.echo(
            f"calendar_years: 载入 {calendar_years['loaded'] or '无'},未变 "
            f"{calendar_years['unchanged'] or '无'},已由管理员录入而跳过 {calendar_years['skipped'] or '无'}"
        )
    if backfilled:
        click.echo(f"已为 {backfilled} 个尚无路线图的项目生成审批路线图。")
    if marketplace and any(marketplace.values()):
        click.echo(
            f"示例市场数据:中介机构 {marketplace['providers']} 家,项目 {marketplace['projects']} 个,"
            f"中选结果 {marketplace['awards']} 条,信用公示 {marketplace['notices']} 条,"
            f"从业人员 {marketplace.get('practitioners', 0)} 名(均标注“示例”)"
        )
    if created:
        click.echo("\n示例账户(密码只显示这一次,请妥善保存;忘记可用 registry users set-password):")
        for username, role, password in created:
            click.echo(f"  {username:<22} {role:<14} {password}")


@click.group("users")
def users() -> None:
    """Manage accounts."""


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return click.prompt("密码", hide_input=True, confirmation_prompt=True)


@users.command("create")
@click.option("--username", required=True)
@click.option(
    "--role",
    required=True,
    type=click.Choice(["admin", "regulator", "enterprise", "provider", "staff"]),
)
@click.option("--department", "department_code", default=None, help="Department code (regulators).")
@click.option("--display-name", default=None)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@with_appcontext
def users_create(password_stdin: bool, **account: str | None) -> None:
    """Create an account (the password must meet the policy; the first sign-in changes it). The
    other options are named as accounts.create_user's keywords and passed on as they are."""
    password = _read_password(password_stdin)
    try:
        accounts.create_user(
            **account, password=password, must_change_password=True, actor_name="system:cli"
        )
    except RegistryError as error:
        db.session.rollback()
        _fail(error.message)
    db.session.commit()
    click.echo(f"已创建账户 {account['username']}({account['role']})")


@users.command("set-password")
@click.option("--username", required=True)
@click.option("--password-stdin", is_flag=True)
@with_appcontext
def users_set_password(username, password_stdin) -> None:
    """Set a new password (ends the user's sessions and lifts a lockout)."""
    user = accounts.find_user(username)
    if user is None:
        _fail(f"未找到账户 {username}")
    password = _read_password(password_stdin)
    try:
        accounts.check_password_policy(password, username=username)
    except RegistryError as error:
        _fail(error.message)
    accounts.set_password(user, password)
    user.failed_logins, user.locked_until = 0, None
    audit.record("user.password_reset", actor_name="system:cli", of=user)
    db.session.commit()
    click.echo(f"已为 {username} 设置新密码,原有登录全部失效。")


@users.command("disable")
@click.option("--username", required=True)
@with_appcontext
def users_disable(username) -> None:
    """Disable an account and end its sessions."""
    user = accounts.find_user(username)
    if user is None:
        _fail(f"未找到账户 {username}")
    accounts.set_enabled(user, False, actor_name="system:cli")
    db.session.commit()
    click.echo(f"已停用 {username}")


@click.command("backup")
@click.argument("path", type=click.Path(file_okay=False, writable=True))
@with_appcontext
def backup(path: str) -> None:
    """Write a backup directory: the database, the uploads on disk, manifest.json (no secret key)."""
    try:
        manifest = backups.create_backup(Path(path))
    except backups.BackupError as error:
        _fail(error.message)
    uploads = sum(1 for entry in manifest["files"] if entry["path"].startswith("uploads/"))
    click.echo(
        f"已备份到 {path}:{manifest['database']} 数据库(结构版本 "
        f"{manifest['schema_revision'] or '未知'}),磁盘上传文件 {uploads} 个。"
    )
    if manifest["damaged"]:
        click.echo(f"警告:{len(manifest['damaged'])} 个上传文件内容与其校验和不符,未备份:")
        for digest in manifest["damaged"]:
            click.echo(f"  {digest}")
    click.echo("SECRET_KEY 不在备份中,请另行保存在密钥管理处(见 README 的 Backups 一节)。")


@click.command("restore")
@click.argument("path", type=click.Path(exists=True, file_okay=False))
@click.option("--force", is_flag=True, help="Restore even if the database already holds data.")
@with_appcontext
def restore(path: str, force: bool) -> None:
    """Restore a backup into an empty instance, after checking every file's checksum."""
    try:
        # Nothing of this node may run meanwhile (running.py); other nodes: other_sessions.
        with running.alone(current_app):
            manifest = backups.restore_backup(Path(path), force=force)
            db.session.commit()
            engine = get_engine()
            if not engine.in_transaction:
                # A Whoosh index lives beside the database, not in the backup: built again.
                engine.rebuild()
    except (backups.BackupError, running.Busy) as error:
        db.session.rollback()
        _fail(error.message)
    uploads = sum(1 for entry in manifest["files"] if entry["path"].startswith("uploads/"))
    click.echo(
        f"已从 {path} 恢复 {manifest['database']} 数据库(备份于 {manifest['created_at']})"
        f"与 {uploads} 个上传文件,校验和全部相符。"
    )
    revision = manifest["schema_revision"]
    if revision:
        click.echo(f"数据库结构版本为 {revision};如低于当前版本,请运行 registry init-db 迁移。")


@click.command("reindex")
@click.option(
    "--verify", is_flag=True, help="Compare the index with the database; exit 1 on drift."
)
@click.option("--repair", is_flag=True, help="With --verify: fix only the drift.")
@with_appcontext
def reindex(verify: bool, repair: bool) -> None:
    """Rebuild the search index from the database (or verify / repair it)."""
    engine = get_engine()
    if verify or repair:
        drift = engine.verify()
        if drift.clean:
            click.echo("索引与数据库一致。")
            return
        for label, ids in (("缺失", drift.missing), ("多余", drift.extra), ("过期", drift.stale)):
            if ids:
                click.echo(f"{label} {len(ids)}:{', '.join(ids[:50])}")
        if repair:
            engine.repair(drift)
            if engine.verify().clean:
                click.echo("已修复,索引与数据库一致。")
                return
        raise SystemExit(1)
    total = len(engine.expected_hashes())
    engine.allow_forks()  # a command, one thread: the parallel rebuild is safe here
    with click.progressbar(length=total, label="重建索引") as bar:
        count = engine.rebuild(progress=bar.update)
    click.echo(f"已重建索引:{count} 个文档。")


def _check_qualifications(today: date) -> str:
    """Qualifications past valid_to: flag them and record one behaviour event each."""
    return jobs.run_committing(providers.qualification_batches(today)).summary()


def _check_practitioner_certificates(today: date) -> str:
    """Practitioners' certificates past valid_to: flag them and tell the holder's provider."""
    return jobs.run_committing(practitioners.certificate_batches(today)).summary()


def _remind_expiring(today: date) -> str:
    """Qualifications and certificates near their last valid day: the provider told once."""
    lead = current_app.config["EXPIRY_NOTICE_DAYS"]
    told = jobs.run_committing(expiring.expiry_reminder_batches(today, lead))
    return f"{lead} 日内到期提醒:资质 {told['qualification']} 项、从业人员证书 {told['certificate']} 项"


def _recompute_grades(today: date) -> str:
    """Credit grades over the window ending today (ratings and deductions age out of it)."""
    count, changes = jobs.run_committing(grades.recompute_batches(today))
    return f"重新计算 {count} 家机构,等级或得分有变化 {len(changes)} 家"


def _check_roadmaps(today: date) -> str:
    """Re-plan every project; due-date warnings and overdue notices become notifications."""
    lead = current_app.config["DEADLINE_WARNING_DAYS"]
    counts = jobs.run_committing(roadmaps.deadline_batches(today, lead))
    return (
        f"{counts['projects']} 个项目,新增到期预警 {counts['warning']} 条、"
        f"超时通报 {counts['overdue']} 条"
    )


def _check_engagements(today: date) -> str:
    """Contracts not signed and services whose due date nears or passed: both parties told once."""
    lead = current_app.config["DEADLINE_WARNING_DAYS"]
    counts = jobs.run_committing(delivery.reminder_batches(today, lead))
    return f"待签约提醒 {counts['contract']} 项、服务期限提醒 {counts['service']} 项"


def _check_requests(today: date) -> str:
    """Requests past their deadline and not decided: their owners told once to decide."""
    end_of_day = datetime.combine(today, time(23, 59, 59), tzinfo=market.SHANGHAI)
    told = jobs.run_committing(market.decide_reminder_batches(min(end_of_day, clock.now())))
    return f"提醒业主确定选取结果 {told} 人次"


def _check_calendar(today: date) -> str:
    """Stored deadlines follow the calendar in force (a package upgrade may have made a year
    official); and whether this year and next have an official arrangement."""
    try:
        # Read in a deferred transaction: the check reads every open date and writes only
        # after a calendar upgrade, so the write lock is not held while it reads. When it does
        # write and another writer got in first, SQLite refuses the upgrade: done again holding
        # the lock from the start.
        with read_only():
            moved = calendars.resync_stored()
            db.session.commit()
    except OperationalError:
        db.session.rollback()
        moved = calendars.resync_stored()
        db.session.commit()
    note = f"按现行日历调整未到期日期 {len(moved)} 个;" if moved else ""
    pending = [
        y
        for y in (today.year, today.year + 1)
        if y <= workdays.LAST_YEAR and workdays.arrangement(y).provisional
    ]
    if not pending:
        return f"{note}{today.year}、{today.year + 1} 年均已采用官方放假安排"
    years = "、".join(str(y) for y in pending)
    calendars.tell_admins_provisional(calendars.worth_telling(pending, today), today)
    db.session.commit()
    return (
        f"{note}{years} 年尚无官方放假安排,相关日期{workdays.PROVISIONAL_NOTE};"
        "国务院办公厅公布后请在 /admin/calendar 录入"
    )


# Each deadline check takes today's date and returns one line of Chinese for the cron log; each
# must be idempotent (a second run on the same day records nothing new) and work in small
# batches committed one by one (services/batches.py), so that no transaction holds SQLite's
# write lock for long and a run stopped halfway is completed by the next. Add checks here.
DEADLINE_CHECKS: list[tuple[str, Callable[[date], str]]] = [
    ("资质有效期", _check_qualifications),
    ("从业人员证书有效期", _check_practitioner_certificates),
    ("即将到期", _remind_expiring),
    ("信用等级", _recompute_grades),
    ("工作日历", _check_calendar),
    ("项目路线图", _check_roadmaps),
    ("合同与服务期限", _check_engagements),
    ("选取结果待确定", _check_requests),
]


# The days a daily command may be run as of: beyond them its date arithmetic overflows.
AS_OF_RANGE = (date(2000, 1, 1), date(2099, 12, 31))


def _as_of(verb: str) -> Callable[[Callable], Callable]:
    """The daily commands' --date option: the day to work as of, today (the clock's) if omitted.
    Another day asks first (or takes --yes): what it writes stays (a tester ran
    `check-deadlines --date 9999-12-31` on a live site and expired every qualification)."""

    def decorate(command: Callable) -> Callable:
        command = click.option(
            "--date",
            "today",
            type=click.DateTime(formats=["%Y-%m-%d"]),
            default=None,
            callback=_as_of_day,
            help=f"{verb} as of this day (YYYY-MM-DD); default today in the configured time zone.",
        )(command)
        return click.option(
            "--yes",
            is_flag=True,
            is_eager=True,
            expose_value=False,
            callback=lambda context, _param, yes: context.meta.__setitem__("as_of_yes", yes),
            help="Run as of another day without asking.",
        )(command)

    return decorate


def _as_of_day(context: click.Context, _param, on: datetime | None) -> date:
    today = clock.today()
    if on is None:
        return today
    day = on.date()
    first, last = AS_OF_RANGE
    if not first <= day <= last:
        raise click.BadParameter(f"日期须在 {first} 至 {last} 之间。")
    if day != today and not context.meta.get("as_of_yes"):
        click.confirm(
            f"将以 {day} 为“今天”运行(今天是 {today}):到期标记、信用扣分、通知和信用等级会写入"
            "数据库,且不会自动撤销。继续吗?",
            abort=True,
        )
    return day


@click.command("check-deadlines")
@_as_of("Run")
@with_appcontext
@_while_running
def check_deadlines(today: date) -> None:
    """Run every deadline check once (idempotent; meant for cron) and print a summary."""
    lines = []
    try:
        for label, check in DEADLINE_CHECKS:
            lines.append(f"{label}:{check(today)}")
    except RegistryError as error:
        db.session.rollback()
        _fail(error.message)
    db.session.commit()
    click.echo(f"到期检查({today.isoformat()})完成。")
    for line in lines:
        click.echo(f"  {line}")


@click.command("recompute-grades")
@_as_of("Compute")
@with_appcontext
@_while_running
def recompute_grades(today: date) -> None:
    """Recompute every provider's credit score and grade (idempotent; changes are audited),
    committing batch by batch."""
    count, changes = jobs.run_committing(grades.recompute_batches(today))
    click.echo(f"信用等级已重新计算({today.isoformat()}):{count} 家机构,有变化 {len(changes)} 家。")
    for change in changes:
        before, after = change.before, change.after
        click.echo(
            f"  {change.uscc}:{before[0] or '未评级'}({before[1] or '—'})"
            f" → {after[0] or '未评级'}({after[1] or '—'})"
        )


def _daily_deadlines(today: date) -> str:
    """The worker's check-deadlines job: every deadline check but the grades, which are the
    next job of their own."""
    lines = [
        f"{label}:{check(today)}"
        for label, check in DEADLINE_CHECKS
        if check is not _recompute_grades
    ]
    return ";".join(lines)


# The worker's daily jobs, in order; each runs once a day across all nodes (services/jobs.py).
DAILY_JOBS: list[jobs.DailyJob] = [
    ("check-deadlines", _daily_deadlines),
    ("recompute-grades", _recompute_grades),
]


@click.command("worker")
@click.option(
    "--once", is_flag=True, help="One pass (daily jobs if due, then due mail), then exit."
)
@with_appcontext
@_while_running
def worker(once: bool) -> None:
    """Send the mail outbox and run the daily jobs (check-deadlines, grades) at DAILY_JOBS_AT."""
    # The time with its offset: the job's day is Beijing's, the machine's zone may be UTC.
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%Y-%m-%d %H:%M:%S%z",
    )
    loop = jobs.Worker(DAILY_JOBS)
    if once:
        counts = loop.run_pass()
        click.echo(
            "worker pass done: "
            + (", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "nothing due"),
            err=True,
        )
        return
    signal.signal(signal.SIGTERM, loop.stop)
    signal.signal(signal.SIGINT, loop.stop)
    loop.run()


commands = [
    init_db,
    seed,
    users,
    backup,
    restore,
    reindex,
    check_deadlines,
    recompute_grades,
    worker,
    serve,
]


def main() -> None:
    """Entry point of the `registry` console script: the app comes from the package's factory,
    found by Flask as `flask --app registry` finds it (so this module, which the factory imports
    for its commands, does not import the factory back)."""
    os.environ["FLASK_APP"] = "registry"
    cli = FlaskGroup(
        add_default_commands=True,
        add_version_option=False,
        help="中介服务超市 management commands.",
    )
    cli.main(prog_name="registry")
