"""The OpenAPI 3.0 document for /api/v1 (kept beside the endpoints it describes)."""

from __future__ import annotations

from typing import Any

from registry.models.catalogue import FeeRegime, TimeUnit, Validity
from registry.models.credit import CreditKind
from registry.models.projects import ProjectCategory
from registry.models.providers import REGIONS
from registry.models.roadmap import DeadlineState, StepKind, StepStatus

_NULLABLE_STR = {"type": "string", "nullable": True}
_NULLABLE_BOOL = {"type": "boolean", "nullable": True}
# Timestamps people read are given in Beijing time: ISO 8601 with the +08:00 offset.
_BEIJING_TIME = {"type": "string", "format": "date-time", "example": "2026-12-07T17:00:00+08:00"}

LEGAL_BASIS = {
    "type": "object",
    "required": ["law", "article", "version"],
    "properties": {
        "law": {"type": "string"},
        "article": _NULLABLE_STR,
        "version": _NULLABLE_STR,
        "note": _NULLABLE_STR,
    },
}
STAGE = {"type": "object", "properties": {"code": {"type": "string"}, "name": {"type": "string"}}}
DEPARTMENT = {
    "type": "object",
    "required": ["code", "name"],
    "properties": {
        "code": {"type": "string"},
        "name": {"type": "string"},
        "short_name": _NULLABLE_STR,
        "phone": _NULLABLE_STR,
        "complaint_phone": _NULLABLE_STR,
        "complaint_phone_is_fallback": {"type": "boolean"},
    },
}
SERVICE = {
    "type": "object",
    "required": [
        "code",
        "name",
        "stages",
        "legal_basis",
        "time_limit_days",
        "time_limit_unit",
        "fee_regime",
        "fee_basis",
        "may_self_prepare",
        "covered_by_regional_assessment",
        "department",
        "approval_items",
    ],
    "properties": {
        "code": {"type": "string", "example": "ZJ-03"},
        "name": {"type": "string", "example": "建设项目环境影响报告书/报告表编制"},
        "abbreviations": {"type": "array", "items": {"type": "string"}},
        "stages": {"type": "array", "items": {"$ref": "#/components/schemas/Stage"}},
        "stage_note": _NULLABLE_STR,
        "legal_basis": {"type": "array", "items": {"$ref": "#/components/schemas/LegalBasis"}},
        "applicability": _NULLABLE_STR,
        "time_limit_days": {"type": "integer", "nullable": True},
        "time_limit_unit": {
            "type": "string",
            "nullable": True,
            "enum": [u.value for u in TimeUnit] + [None],
        },
        "time_limit_note": _NULLABLE_STR,
        "fee_regime": {
            "type": "string",
            "nullable": True,
            "enum": [f.value for f in FeeRegime] + [None],
            "description": "null = 待核实",
        },
        "fee_regime_note": _NULLABLE_STR,
        "fee_basis": _NULLABLE_STR,
        "may_self_prepare": {**_NULLABLE_BOOL, "description": "null = 参考资料未明确"},
        "covered_by_regional_assessment": _NULLABLE_BOOL,
        "department": {
            "type": "object",
            "nullable": True,
            "properties": {
                "code": {"type": "string"},
                "name": {"type": "string"},
                "complaint_phone": _NULLABLE_STR,
                "complaint_phone_is_fallback": {"type": "boolean"},
            },
        },
        "qualification_required": _NULLABLE_STR,
        "approval_items": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "code": {"type": "string"},
                    "name": {"type": "string"},
                    "url": {"type": "string"},
                },
            },
        },
        "source_note": {
            "type": "string",
            "nullable": True,
            "description": "来源标记:S=已核原文;S-2nd=二手来源;GK=常识待核",
        },
        "validity": {"type": "string", "enum": [v.value for v in Validity]},
        "last_verified": {"type": "string", "format": "date", "nullable": True},
        "url": {"type": "string"},
    },
}
APPROVAL = {
    "type": "object",
    "required": ["code", "name", "stages", "legal_basis"],
    "properties": {
        "code": {"type": "string", "example": "SP-05"},
        "name": {"type": "string"},
        "stages": {"type": "array", "items": {"$ref": "#/components/schemas/Stage"}},
        "stage_note": _NULLABLE_STR,
        "department": {"allOf": [{"$ref": "#/components/schemas/Department"}], "nullable": True},
        "approving_body": _NULLABLE_STR,
        "legal_basis": {"type": "array", "items": {"$ref": "#/components/schemas/LegalBasis"}},
        "time_limit_days": {"type": "integer", "nullable": True},
        "time_limit_unit": _NULLABLE_STR,
        "time_limit_note": _NULLABLE_STR,
        "commitment_approval": _NULLABLE_BOOL,
        "accept_with_deficiency": _NULLABLE_BOOL,
        "applicability": _NULLABLE_STR,
        "tianjin_note": _NULLABLE_STR,
        "service_items": {"type": "array", "items": {"type": "object"}},
        "source_note": _NULLABLE_STR,
        "validity": {"type": "string"},
    },
}
PROVIDER_OFFER = {
    "type": "object",
    "required": ["service", "committed_days", "fee_quote", "fee_basis"],
    "properties": {
        "service": {
            "type": "object",
            "properties": {"code": {"type": "string"}, "name": {"type": "string"}},
        },
        "committed_days": {"type": "integer", "minimum": 1, "description": "承诺办理时限(天)"},
        "fee_quote": {
            "type": "string",
            "format": "decimal",
            "nullable": True,
            "example": "50000.00",
            "description": "报价(元,两位小数的十进制字符串);null 表示按收费依据",
        },
        "fee_basis": _NULLABLE_STR,
    },
}
_PROVIDER_SUMMARY = {
    "uscc": {"type": "string", "example": "91120116MA05JQ1X2Y", "description": "统一社会信用代码"},
    "name": {"type": "string"},
    "region": {"type": "string"},
    "grade": {
        "type": "string",
        "nullable": True,
        "enum": ["AA", "A", "B", "C", "D", None],
        "description": "信用等级;null 表示未评级",
    },
    "offers": {"type": "array", "items": {"$ref": "#/components/schemas/ProviderOffer"}},
    "url": {"type": "string"},
}
PROVIDER = {
    "type": "object",
    "required": ["uscc", "name", "region", "grade", "offers"],
    "properties": _PROVIDER_SUMMARY,
}
PROVIDER_DETAIL = {
    "type": "object",
    "required": ["uscc", "name", "region", "grade", "offers", "qualifications"],
    "properties": {
        **_PROVIDER_SUMMARY,
        "legal_representative": {"type": "string"},
        "address": {"type": "string"},
        "licence_scope": {"type": "string"},
        "qualifications": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "kind": {"type": "string"},
                    "grade": _NULLABLE_STR,
                    "certificate_no": {"type": "string"},
                    "issuer": {"type": "string"},
                    "valid_from": {"type": "string", "format": "date"},
                    "valid_to": {"type": "string", "format": "date"},
                    "expired": {"type": "boolean"},
                },
            },
        },
    },
}
AWARD = {
    "type": "object",
    "required": ["id", "project_code", "owner", "service", "method", "winner", "awarded_at"],
    "properties": {
        "id": {"type": "integer"},
        "request": {"type": "string", "description": "选取公告编号"},
        "project_code": {"type": "string", "description": "项目代码"},
        "owner": {"type": "string", "description": "项目业主"},
        "service": {"type": "string", "description": "中介服务事项编码"},
        "method": {"type": "string", "description": "选取方式"},
        "winner": {
            "type": "object",
            "properties": {"uscc": {"type": "string"}, "name": {"type": "string"}},
        },
        "amount": {"type": "string", "nullable": True, "description": "中选金额(元,十进制字符串)"},
        "awarded_at": {**_BEIJING_TIME, "description": "确定时间(北京时间,带 +08:00)"},
        "seed": {"type": "string", "nullable": True, "description": "抽取种子(SHA-256,十六进制)"},
        "algorithm": _NULLABLE_STR,
        "draw_inputs": {
            "type": "object",
            "nullable": True,
            "description": "重算种子的公开输入(deadline 为种子所用的原文)",
        },
        "is_demo": {"type": "boolean", "description": "示例数据"},
        "url": {"type": "string"},
        "verify_url": {"type": "string"},
    },
}
NOTICE = {
    "type": "object",
    "required": ["number", "kind", "title", "department", "provider", "published_at"],
    "properties": {
        "number": {"type": "string", "example": "XY-2026-000123", "description": "公示编号"},
        "kind": {
            "type": "string",
            "enum": [k.value for k in CreditKind],
            "description": "记录类型",
        },
        "title": {"type": "string"},
        "facts": {"type": "string", "description": "事实(纯文本)"},
        "basis": {"type": "string", "description": "依据"},
        "department": {
            "type": "object",
            "properties": {"code": {"type": "string"}, "name": {"type": "string"}},
        },
        "provider": {
            "type": "object",
            "properties": {"uscc": {"type": "string"}, "name": {"type": "string"}},
            "description": "被记录的中介机构(发布时的名称)",
        },
        "term_until": {
            "type": "string",
            "format": "date",
            "nullable": True,
            "description": "列入黑名单的期限截止日",
        },
        "published_at": {**_BEIJING_TIME, "description": "发布时间(北京时间,带 +08:00)"},
        "disclosure_until": {"type": "string", "format": "date", "description": "公示期截止日"},
        "objection_until": {"type": "string", "format": "date", "description": "异议截止日"},
        "windows_provisional": {
            "type": "boolean",
            "description": "公示期或异议期跨越尚无官方放假安排的年份(暂按法定节假日推算)",
        },
        "in_disclosure": {"type": "boolean", "description": "是否仍在公示期内"},
        "revises": {"type": "string", "nullable": True, "description": "所修订的原公示编号"},
        "url": {"type": "string"},
    },
}
_NULLABLE_DATE = {"type": "string", "format": "date", "nullable": True}
ROADMAP_STEP = {
    "type": "object",
    "required": ["key", "name", "kind", "stage", "duration", "unit", "depends_on", "status"],
    "properties": {
        "key": {"type": "string", "example": "SP-05"},
        "name": {"type": "string", "example": "环评审批(报告书/报告表;登记表备案)"},
        "kind": {"type": "string", "enum": [k.value for k in StepKind]},
        "stage": {"type": "string", "example": "1"},
        "department": _NULLABLE_STR,
        "duration": {"type": "integer"},
        "unit": {"type": "string", "enum": [u.value for u in TimeUnit]},
        "duration_source": {**_NULLABLE_STR, "description": "时长来源,含来源标记 S / S-2nd / GK"},
        "depends_on": {"type": "array", "items": {"type": "string"}},
        "status": {"type": "string", "enum": [s.value for s in StepStatus]},
        "covered_by_regional_assessment": {"type": "boolean"},
        "self_prepared": {"type": "boolean"},
        "planned_start": _NULLABLE_DATE,
        "planned_finish": {
            **_NULLABLE_DATE,
            "description": "null:不适用、由区域评估覆盖,或超出工作日历范围暂无法排定",
        },
        "started_on": _NULLABLE_DATE,
        "submitted_on": _NULLABLE_DATE,
        "finished_on": _NULLABLE_DATE,
        "critical": {"type": "boolean", "description": "是否在关键路径上"},
        "slack_days": {"type": "integer", "nullable": True},
        "provisional": {
            "type": "boolean",
            "description": "计划日期跨越尚无官方放假安排的年份(暂按法定节假日推算,待公布后自动调整)",
        },
        "deadline_state": {
            "type": "string",
            "nullable": True,
            "enum": [s.value for s in DeadlineState if s.value] + [None],
        },
        "services": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"code": {"type": "string"}, "name": {"type": "string"}},
            },
        },
    },
}
ROADMAP = {
    "type": "object",
    "required": ["code", "name", "category", "target_days", "steps"],
    "properties": {
        "code": {"type": "string", "example": "2026-120116-34-03-900101"},
        "name": {"type": "string"},
        "category": {"type": "string", "enum": [c.value for c in ProjectCategory]},
        "land_contract_date": _NULLABLE_DATE,
        "target_days": {
            "type": "integer",
            "description": "自土地出让合同签订至取得施工许可的目标天数",
        },
        "total_days": {"type": "integer", "nullable": True, "description": "计划总用时(日历天)"},
        "margin_days": {
            "type": "integer",
            "nullable": True,
            "description": "目标减计划总用时:正数为余量,负数为超出",
        },
        "planned_finish": _NULLABLE_DATE,
        "calendar_error": {**_NULLABLE_STR, "description": "部分步骤超出工作日历范围时的说明"},
        "provisional_years": {
            "type": "array",
            "items": {"type": "integer"},
            "description": "计划涉及、尚无国务院官方放假安排的年份(其日期暂按法定节假日推算)",
        },
        "provisional_note": {**_NULLABLE_STR, "description": "有暂定日期时的说明"},
        "critical_path": {"type": "array", "items": {"type": "string"}},
        "steps": {"type": "array", "items": {"$ref": "#/components/schemas/RoadmapStep"}},
    },
}
ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "example": "not_found"},
                "message": {"type": "string", "example": "未找到编码为 X 的中介服务事项"},
            },
        }
    },
}


_FACET_VALUES = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {
            "value": {"type": "string"},
            "label": {"type": "string"},
            "count": {"type": "integer"},
        },
    },
}
SEARCH_PAGE = {
    "type": "object",
    "required": ["items", "total", "page", "per_page", "facets"],
    "properties": {
        "items": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["type", "title", "url", "snippet"],
                "properties": {
                    "type": {"type": "string"},
                    "id": {"type": "string"},
                    "title": {"type": "string"},
                    "url": {"type": "string"},
                    "snippet": {
                        "type": "string",
                        "description": "HTML 片段:原文已转义,匹配处以 <mark> 标出",
                    },
                },
            },
        },
        "total": {"type": "integer"},
        "page": {"type": "integer"},
        "per_page": {"type": "integer"},
        "facets": {
            "type": "object",
            "properties": {
                "type": _FACET_VALUES,
                "stage": _FACET_VALUES,
                "department": _FACET_VALUES,
                "fee_regime": _FACET_VALUES,
            },
        },
        "notices": {"type": "array", "items": {"type": "string"}},
        "suggestion": {"type": "string", "nullable": True, "description": "您是不是要找"},
    },
}


def _page_of(ref: str) -> dict:
    return {
        "type": "object",
        "required": ["items", "total", "page", "per_page"],
        "properties": {
            "items": {"type": "array", "items": {"$ref": ref}},
            "total": {"type": "integer"},
            "page": {"type": "integer"},
            "per_page": {"type": "integer"},
        },
    }


def _query(name: str, description: str, schema: dict | None = None) -> dict:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema or {"type": "string"},
    }


def _ok(schema_ref: str, description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": schema_ref}}},
    }


_NOT_FOUND = {
    "description": "不存在",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}


def _error(description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def openapi_document() -> dict[str, Any]:
    """Build the document (cheap; no I/O)."""
    code_param = {"name": "code", "in": "path", "required": True, "schema": {"type": "string"}}
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "中介服务超市 开放接口",
            "version": "1.0.0",
            "description": "天津高新区中介服务事项清单的只读接口。文本为 UTF-8 中文;"
            "错误统一为 {error: {code, message}}。",
        },
        "servers": [{"url": "/api/v1"}],
        "paths": {
            "/services": {
                "get": {
                    "summary": "中介服务事项列表",
                    "operationId": "listServices",
                    "parameters": [
                        _query("stage", "审批阶段编码(1–4)"),
                        _query("department", "监管部门编码,如 STHJ"),
                        _query(
                            "fee_regime",
                            "收费性质;unknown 表示待核实",
                            {"type": "string", "enum": [f.value for f in FeeRegime] + ["unknown"]},
                        ),
                        _query("approval_item", "服务的审批事项编码,如 SP-05"),
                        _query("may_self_prepare", "是否可自行编制", {"type": "boolean"}),
                        _query("q", "名称、简称或依据中的关键词"),
                        _query("page", "页码,从 1 开始", {"type": "integer", "minimum": 1}),
                        _query(
                            "per_page",
                            "每页条数(≤100)",
                            {"type": "integer", "minimum": 1, "maximum": 100},
                        ),
                    ],
                    "responses": {"200": _ok("#/components/schemas/ServicePage", "一页结果")},
                }
            },
            "/services/{code}": {
                "get": {
                    "summary": "中介服务事项详情",
                    "operationId": "getService",
                    "parameters": [code_param],
                    "responses": {
                        "200": _ok("#/components/schemas/ServiceItem", "事项"),
                        "404": _NOT_FOUND,
                    },
                }
            },
            "/approval-items": {
                "get": {
                    "summary": "审批事项列表",
                    "operationId": "listApprovalItems",
                    "responses": {"200": _ok("#/components/schemas/ApprovalPage", "全部审批事项")},
                }
            },
            "/approval-items/{code}": {
                "get": {
                    "summary": "审批事项详情",
                    "operationId": "getApprovalItem",
                    "parameters": [code_param],
                    "responses": {
                        "200": _ok("#/components/schemas/ApprovalItem", "审批事项"),
                        "404": _NOT_FOUND,
                    },
                }
            },
            "/departments": {
                "get": {
                    "summary": "部门列表",
                    "operationId": "listDepartments",
                    "responses": {"200": _ok("#/components/schemas/DepartmentPage", "全部部门")},
                }
            },
            "/providers": {
                "get": {
                    "summary": "已入驻中介机构列表",
                    "operationId": "listProviders",
                    "parameters": [
                        _query("service", "提供的中介服务事项编码,如 ZJ-03"),
                        _query("region", "所在区域", {"type": "string", "enum": list(REGIONS)}),
                        _query(
                            "grade",
                            "信用等级;none 表示未评级",
                            {"type": "string", "enum": ["AA", "A", "B", "C", "D", "none"]},
                        ),
                        _query("qualification", "持有的(在有效期内的)资质类别"),
                        _query("page", "页码,从 1 开始", {"type": "integer", "minimum": 1}),
                        _query(
                            "per_page",
                            "每页条数(≤100)",
                            {"type": "integer", "minimum": 1, "maximum": 100},
                        ),
                    ],
                    "responses": {"200": _ok("#/components/schemas/ProviderPage", "一页结果")},
                }
            },
            "/providers/{uscc}": {
                "get": {
                    "summary": "中介机构详情(仅已入驻机构)",
                    "operationId": "getProvider",
                    "parameters": [
                        {
                            "name": "uscc",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        }
                    ],
                    "responses": {
                        "200": _ok("#/components/schemas/ProviderDetail", "中介机构"),
                        "404": _NOT_FOUND,
                    },
                }
            },
            "/awards": {
                "get": {
                    "summary": "中选公示(最新在前)",
                    "operationId": "listAwards",
                    "parameters": [
                        _query("service", "中介服务事项编码,如 ZJ-03"),
                        _query("page", "页码,从 1 开始", {"type": "integer", "minimum": 1}),
                        _query(
                            "per_page",
                            "每页条数(≤100)",
                            {"type": "integer", "minimum": 1, "maximum": 100},
                        ),
                    ],
                    "responses": {"200": _ok("#/components/schemas/AwardPage", "一页结果")},
                }
            },
            "/notices": {
                "get": {
                    "summary": "信用公示(仅已发布的现行记录,最新在前)",
                    "operationId": "listNotices",
                    "parameters": [
                        _query("department", "发布部门编码,如 STHJ"),
                        _query(
                            "kind",
                            "记录类型",
                            {"type": "string", "enum": [k.value for k in CreditKind]},
                        ),
                        _query("year", "发布年度", {"type": "integer"}),
                        _query("date_from", "发布日期起(含)", {"type": "string", "format": "date"}),
                        _query("date_to", "发布日期止(含)", {"type": "string", "format": "date"}),
                        _query("provider", "中介机构名称的一部分,或统一社会信用代码"),
                        _query("page", "页码,从 1 开始", {"type": "integer", "minimum": 1}),
                        _query(
                            "per_page",
                            "每页条数(≤100)",
                            {"type": "integer", "minimum": 1, "maximum": 100},
                        ),
                    ],
                    "responses": {"200": _ok("#/components/schemas/NoticePage", "一页结果")},
                }
            },
            "/notices/{number}": {
                "get": {
                    "summary": "信用公示详情(草稿、已撤销和已被修订的编号均为 404)",
                    "operationId": "getNotice",
                    "parameters": [
                        {
                            "name": "number",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        }
                    ],
                    "responses": {
                        "200": _ok("#/components/schemas/Notice", "信用公示"),
                        "404": _NOT_FOUND,
                    },
                }
            },
            "/search": {
                "get": {
                    "summary": "全文搜索(事项、审批事项、部门、中介机构)",
                    "operationId": "search",
                    "parameters": [
                        _query(
                            "q",
                            "查询词:名称、简称(环评)、拼音(huanping)、首字母(hp);"
                            "引号为短语,减号为排除",
                        ),
                        _query(
                            "type",
                            "文档类型",
                            {
                                "type": "string",
                                "enum": [
                                    "service",
                                    "approval",
                                    "department",
                                    "provider",
                                    "award",
                                    "notice",
                                ],
                            },
                        ),
                        _query("stage", "审批阶段编码"),
                        _query("department", "部门编码"),
                        _query("fee_regime", "收费性质"),
                        _query("page", "页码", {"type": "integer", "minimum": 1}),
                        _query(
                            "per_page",
                            "每页条数(≤100)",
                            {"type": "integer", "minimum": 1, "maximum": 100},
                        ),
                    ],
                    "responses": {"200": _ok("#/components/schemas/SearchPage", "搜索结果")},
                }
            },
            "/projects/{code}/roadmap": {
                "get": {
                    "summary": "项目路线图(一张图;需登录)",
                    "description": "需登录(浏览器会话 Cookie)。项目所属企业的账号、政务办工作人员和"
                    "管理员可查看;其他企业的项目一律返回 404,不透露其是否存在。",
                    "operationId": "getProjectRoadmap",
                    "security": [{"sessionCookie": []}],
                    "parameters": [code_param],
                    "responses": {
                        "200": _ok("#/components/schemas/Roadmap", "路线图"),
                        "401": _error("未登录"),
                        "403": _error("账号角色无权查看路线图(如中介机构、监管员)"),
                        "404": _NOT_FOUND,
                    },
                }
            },
            "/openapi.json": {
                "get": {
                    "summary": "本文档",
                    "operationId": "getOpenApi",
                    "responses": {"200": {"description": "OpenAPI 3 文档"}},
                }
            },
        },
        "components": {
            "securitySchemes": {
                "sessionCookie": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "session",
                    "description": "登录本站后的会话 Cookie;其余接口公开,无需登录。",
                }
            },
            "schemas": {
                "LegalBasis": LEGAL_BASIS,
                "Stage": STAGE,
                "Department": DEPARTMENT,
                "ServiceItem": SERVICE,
                "ApprovalItem": APPROVAL,
                "ServicePage": _page_of("#/components/schemas/ServiceItem"),
                "ApprovalPage": _page_of("#/components/schemas/ApprovalItem"),
                "DepartmentPage": _page_of("#/components/schemas/Department"),
                "Error": ERROR,
                "SearchPage": SEARCH_PAGE,
                "ProviderOffer": PROVIDER_OFFER,
                "Provider": PROVIDER,
                "ProviderDetail": PROVIDER_DETAIL,
                "ProviderPage": _page_of("#/components/schemas/Provider"),
                "Award": AWARD,
                "AwardPage": _page_of("#/components/schemas/Award"),
                "Notice": NOTICE,
                "NoticePage": _page_of("#/components/schemas/Notice"),
                "RoadmapStep": ROADMAP_STEP,
                "Roadmap": ROADMAP,
            },
        },
    }
