"""The append-only audit log: who did what, when, with the before and after state."""

from __future__ import annotations

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from registry.extensions import db
from registry.models.evidence import append_only, triggers
from registry.models.types import Created, IntPK, UserRef


class AuditEntry(db.Model):
    """One audited change or one denied attempt. Rows are never updated or deleted."""

    __tablename__ = "audit_log"

    id: Mapped[IntPK]
    at: Mapped[Created] = mapped_column(index=True)
    actor_id: Mapped[UserRef | None]
    actor_name: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str | None] = mapped_column(String(64))
    object_id: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16), default="ok")
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    ip: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str | None] = mapped_column(String(500))


# Database-level guard: the log stays append-only even against raw SQL (migration 0001 runs these).
SQLITE_TRIGGERS = triggers("audit_log")["sqlite"]
POSTGRESQL_TRIGGERS = triggers("audit_log")["postgresql"]
append_only(AuditEntry)


# What each action code means, in the words the audit page shows (its filter's choices and each
# entry's heading). Every code the application records is listed here; tests/test_audit_filter.py
# finds the codes in the source and fails on one without a label. An unknown code (an old entry
# of a retired action) is shown as it is stored.
ACTION_LABELS: dict[str, str] = {
    "access.denied": "访问被拒绝",
    "auth.login": "登录",
    "auth.logout": "退出登录",
    "approval_item.create": "新增审批事项",
    "approval_item.update": "修改审批事项",
    "approval_item.retire": "停用审批事项",
    "award.answer": "答复中选异议",
    "award.object": "对中选结果提出异议",
    "award.withdraw": "撤销中选结果",
    "behaviour.denied": "行为记录操作被拒绝",
    "behaviour_event.create": "登记行为记录",
    "calendar.save": "保存年度节假日安排",
    "calendar.remove": "删除年度节假日安排",
    "calendar.move": "节假日安排变化后日期重算",
    "colleagues.denied": "同事账户操作被拒绝",
    "credit.draft": "起草信用记录",
    "credit.update": "修改信用记录草稿",
    "credit.discard": "删除信用记录草稿",
    "credit.publish": "发布信用记录",
    "credit.revise": "修订信用记录",
    "credit.revoke": "撤销信用记录",
    "credit.object": "对信用记录提出异议",
    "credit.answer": "答复信用记录异议",
    "credit.denied": "信用记录操作被拒绝",
    "csrf.denied": "表单校验失败(CSRF)",
    "deadlines.check": "到期检查(预警与超时通报)",
    "department.create": "新增监管部门",
    "department.update": "修改监管部门",
    "department.retire": "停用监管部门",
    "department.reinstate": "重新启用监管部门",
    "engagement.contract": "登记签约日期",
    "engagement.submit_result": "提交服务成果",
    "engagement.return_result": "退回服务成果",
    "engagement.confirm_result": "确认服务成果",
    "engagement.withdraw": "撤销服务项目",
    "engagement.denied": "服务项目操作被拒绝",
    "enterprise.create": "登记企业",
    "evaluation.open": "开启考评周期",
    "evaluation.score": "录入考评得分",
    "evaluation.upload": "批量导入考评得分",
    "evaluation.close": "结束考评周期",
    "evaluation.close_early": "提前结束考评周期",
    "evaluation.publish": "发布考评结果",
    "evaluation.denied": "考评操作被拒绝",
    "mail.resend": "重新发送邮件",
    "offer.create": "新增服务承诺",
    "offer.update": "修改服务承诺",
    "offer.deactivate": "停用服务承诺",
    "offer.reactivate": "重新启用服务承诺",
    "project.create": "登记项目",
    "project.update": "修改项目信息",
    "project.assign": "指派帮办管家或审批专家",
    "provider.create": "创建入驻申请",
    "provider.update": "修改入驻信息",
    "provider.submit": "提交入驻申请",
    "provider.approve": "通过入驻申请",
    "provider.return": "退回入驻申请",
    "provider.back_to_review": "关键信息变更,重新审核",
    "provider.blacklist": "黑名单期限变化",
    "provider.grade": "信用等级变化",
    "provider.denied": "中介机构操作被拒绝",
    "qualification.add": "新增资质",
    "qualification.remove": "删除资质",
    "qualification.accept": "资质核验通过",
    "qualification.reject": "资质未通过核验",
    "qualification.expired": "资质过期",
    "ratelimit.denied": "请求过于频繁被拒绝",
    "practitioner.register": "登记从业人员",
    "practitioner.register_refused": "从业人员登记被拒绝(姓名与身份证号不符)",
    "practitioner.certificate_add": "新增从业人员证书",
    "practitioner.certificate_refused": "从业人员或证书登记被拒绝(挂证嫌疑)",
    "practitioner.certificate_expired": "从业人员证书过期",
    "practitioner.certificate_renew": "从业人员证书续期",
    "practitioner.certificate_correct": "更正从业人员证书",
    "practitioner.certificate_withdraw": "注销从业人员证书",
    "practitioner.employment_end": "从业人员离职",
    "practitioner.registration_void": "作废从业人员登记(未入驻机构的登记让位或政务办作废)",
    "practitioner.denied": "从业人员操作被拒绝",
    "practitioner.view_unmasked": "查看从业人员完整信息",
    "practitioner.account_invite": "邀请从业人员开通本人账户",
    "practitioner.account_resend": "重发从业人员本人账户邀请",
    "practitioner.account_unlink": "解除从业人员本人账户关联(停用该账户)",
    "practitioner.void_refused": "登记被拒绝(政务办已作废该机构的同一登记)",
    "practitioner.certificate_readd": "重新登记本人已注销的证书(原记录保留为历史)",
    "practitioner.void_lift": "撤销作废从业人员登记(政务办,该机构可重新登记)",
    "rating.create": "业主评价",
    "rating.edit": "修改业主评价",
    "rating.hide": "隐藏评价内容",
    "roadmap.create": "生成审批路线图",
    "roadmap.progress": "登记审批进度",
    "roadmap.options": "修改路线图步骤选项",
    "roadmap_template.create": "创建路线图模板",
    "roadmap_template.update": "修改路线图模板",
    "selection.open": "发布选取公告",
    "selection.quote": "报名或报价",
    "selection.award": "确定中选结果",
    "selection.fail": "选取失败(流标)",
    "selection.cancel": "撤销选取公告",
    "selection.reopen": "重新开启选取",
    "service_item.create": "新增中介服务事项",
    "service_item.update": "修改中介服务事项",
    "service_item.retire": "停用中介服务事项",
    "stage.create": "新增审批阶段",
    "stage.update": "修改审批阶段",
    "stage.retire": "停用审批阶段",
    "system.restore": "从备份恢复数据库",
    "user.create": "创建账户",
    "user.register": "注册账户",
    "user.invite": "邀请同事",
    "user.invite_practitioner": "开设从业人员本人账户",
    "user.email_change": "更改账户邮箱",
    "user.email_confirm": "确认电子邮箱",
    "user.confirm_resend": "重发确认邮件",
    "user.password_change": "修改密码",
    "user.password_reset": "重置密码",
    "user.password_reset_request": "申请重置密码",
    "user.role_change": "变更账户角色",
    "user.enable": "启用账户",
    "user.disable": "停用账户",
}


def action_label(code: str) -> str:
    """The Chinese name of an audit action code; an unknown code as it is stored."""
    return ACTION_LABELS.get(code, code)
