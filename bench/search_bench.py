"""Search benchmark: our Whoosh backend against SQLite FTS5 (and, given --pg-url, our PostgreSQL
backend), on the same synthetic corpus and the same distinct queries, interleaved per query.

Not part of the test suite. Run it standalone from the repository root:

    .venv/bin/python bench/search_bench.py --sizes 20000              # one size, a few minutes
    .venv/bin/python bench/search_bench.py --sizes 100000 --pg-url postgresql://postgres@127.0.0.1:5432/bench_search
    .venv/bin/python bench/search_bench.py --sizes 100000 --profile '"中介服务超市"'

Honest by construction:

* Queries are DISTINCT (no text repeats) and drawn from a realistic mix: provider names (whole,
  parts, several words), service names, abbreviations, pinyin and initials, typos (homophones
  and clipped pinyin), department names, quoted phrases (common words included) and notice
  wording. Warm-up uses other queries.
* Every engine does the same work per query: the exact total, the top 20 with a snippet, and the
  facet counts (type, stage, department, fee regime) over the match set. A quarter of the queries
  run once more with a facet filter, on every engine.
* FTS5 gets a fair equivalent of our query, not a reduced one: per chunk, each word in the title,
  keywords or body (or its jieba sub-words, or its synonyms), OR all title bigrams, OR the pinyin
  and initials (prefix for clipped pinyin); quoted phrases as FTS5 phrases; a chunk of only
  common words (天津, 有限公司) is dropped when others are given; a query that finds nothing is
  retried with each Chinese chunk's pinyin (our did-you-mean). Ranked by bm25.
* Engines are interleaved per query (the engine that goes first rotates), so a change in machine
  load hits all of them alike. The FIRST run of each query is reported apart from the repeats
  (our term and phrase caches help repeats; caches carried over from OTHER queries are real).
* Writes: one changed document at a time through each engine's own write path; "write" is the
  time the user's request is slowed, "visible" until a search finds it.

Progress goes to stderr; the tables (Markdown) go to stdout; each goal is printed as PASS/MISS.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from registry.search.analysis import (  # noqa: E402
    CJK_RE,
    SEGMENTER,
    STOP_TOKENS,
    Synonyms,
    bigrams,
    pinyin_of,
)
from registry.search.base import SearchRequest  # noqa: E402
from registry.search.documents import Document  # noqa: E402
from registry.search.query import parse_query  # noqa: E402
from registry.search.whoosh_backend import WhooshBackend  # noqa: E402

SEED = 20241031
DEFAULT_SIZES = (20000, 100000)
GOAL_SIZE = 100000
PER_PAGE = 20
WARMUP = 8
UPDATES = 20
REPEATS = 2
FILTER_EVERY = 4  # every 4th query also runs with a facet filter

# ---------------------------------------------------------------------------------------- logging

_T0 = time.perf_counter()


def log(message: str) -> None:
    """Progress to stderr, with the elapsed wall-clock time."""
    print(f"[{time.perf_counter() - _T0:7.1f}s] {message}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- corpus vocabulary

DISTRICTS = [
    ("滨海新区", "滨海"),
    ("滨海新区", "滨海新"),
    ("和平区", "和平"),
    ("河东区", "河东"),
    ("河西区", "河西"),
    ("南开区", "南开"),
    ("河北区", "河北"),
    ("红桥区", "红桥"),
    ("东丽区", "东丽"),
    ("西青区", "西青"),
    ("津南区", "津南"),
    ("北辰区", "北辰"),
    ("武清区", "武清"),
    ("宝坻区", "宝坻"),
    ("宁河区", "宁河"),
    ("静海区", "静海"),
    ("蓟州区", "蓟州"),
]
BRAND_CHARS = (
    "恒海信瑞泰华源达盛博联创正宏远鑫诚润德安康晟睿弘坤泽嘉禾天成中和鼎佳航汇通宇新"
    "隆星合丰益昌永明金凯悦辰清川云峰志祥茂荣兴旭晨东方普蓝绿洲森林"
)
# (industry word, the services such a company offers)
INDUSTRIES = [
    ("环境", ["环境影响评价报告书编制", "环境影响报告表编制", "土壤污染状况调查", "排污许可咨询"]),
    ("生态", ["环境影响评价报告书编制", "生态环境监测", "土壤污染状况调查"]),
    ("水利", ["水土保持方案编制", "水土保持监测", "水资源论证报告书编制"]),
    ("水务", ["水土保持方案编制", "水资源论证报告书编制", "取水许可咨询"]),
    ("岩土", ["岩土工程勘察", "基坑监测", "地基检测"]),
    ("地质", ["地质灾害危险性评估", "岩土工程勘察", "地震安全性评价"]),
    ("测绘", ["不动产测绘", "宗地测绘", "勘测定界", "规划放线验线测量"]),
    ("地理信息", ["不动产测绘", "规划放线验线测量", "竣工测量"]),
    ("建筑", ["施工图审查", "建筑工程方案设计", "施工图设计"]),
    ("建筑设计", ["建筑工程方案设计", "施工图设计", "人防工程设计"]),
    ("安全", ["安全预评价", "职业病危害预评价", "安全评价"]),
    ("工程", ["工程监理", "工程造价咨询", "招标代理"]),
    ("建设", ["工程监理", "建设工程质量检测", "招标代理"]),
    ("检测", ["建设工程质量检测", "防雷装置检测", "室内环境检测"]),
    ("防雷", ["雷电灾害风险评估", "防雷装置设计技术评价", "防雷装置检测"]),
    ("交通", ["交通影响评价", "交通规划咨询"]),
    ("节能", ["节能报告编制", "能源审计", "节能评估"]),
    ("规划", ["规划放线验线测量", "规划方案设计", "城市更新咨询"]),
    ("考古", ["考古调查", "考古勘探"]),
    ("消防", ["消防设计技术咨询", "特殊消防设计专家评审"]),
]
SUFFIXES = ["环境", "工程", "科技", "咨询", "检测", "测绘", "技术", "设计", "工程技术", "环境科技"]
COMPANY_FORMS = ["有限公司"] * 8 + ["有限责任公司", "股份有限公司"]
QUALIFICATIONS = [
    "环境影响评价信用平台备案",
    "工程勘察专业类(岩土工程)甲级资质",
    "工程勘察综合类资质",
    "乙级测绘资质",
    "甲级测绘资质",
    "工程造价咨询企业备案",
    "检验检测机构资质认定(CMA)",
    "水土保持方案编制单位水平评价三星",
    "工程监理综合资质",
    "施工图审查机构认定(一类)",
    "安全评价机构资质",
    "雷电防护装置检测资质(乙级)",
    "地质灾害评估和治理工程勘查设计资质(甲级)",
]
ROADS = [
    "华苑产业区海泰西路",
    "海泰发展六道",
    "梅苑路",
    "开发区第三大街",
    "黄海路",
    "南京路",
    "卫津路",
    "友谊路",
    "红旗南路",
    "津塘路",
    "中山门大街",
    "大沽南路",
    "港城大道",
    "新港二号路",
    "京津塘公路",
]
NOTICE_ACTIONS = ["警示通报", "通报批评", "暂停服务资格", "记不良行为一次", "移出中介服务超市"]
NOTICE_FAULTS = [
    "未按承诺时限完成",
    "报告质量不符合技术规范要求",
    "超出资质范围承接业务",
    "违规收取额外费用",
    "弄虚作假提供不实材料",
    "无正当理由拒绝接受委托",
]
PROJECTS = ["新建厂房", "研发中心", "物流仓储", "产业园二期", "污水处理站", "综合楼", "人才公寓"]
STAGES = ["1", "2", "3", "4"]
DEPARTMENT_CODES = ["STHJ", "SW", "GHZY", "ZJW", "FGW", "QX", "RF"]
FEE_REGIMES = ["市场调节价", "政府指导价"]


@dataclass
class Seeds:
    """Real catalogue rows from seeds/ (documents 0..n, and names for the query mix)."""

    departments: list[dict]
    services: list[dict]
    approvals: list[dict]


def load_seeds() -> Seeds:
    """The seed catalogue: departments, service items, approval items."""
    base = ROOT / "seeds" / "catalogue"

    def read(name: str) -> list[dict]:
        path = base / name
        if not path.exists():
            return []
        return yaml.safe_load(path.read_text(encoding="utf-8")) or []

    return Seeds(read("departments.yaml"), read("service_items.yaml"), read("approval_items.yaml"))


def catalogue_words(seeds: Seeds) -> list[str]:
    """The abbreviations the app teaches the segmenter (as registry.search.engine does)."""
    return [w for row in seeds.services for w in row.get("abbreviations") or [] if len(w) <= 4]


# --------------------------------------------------------------------------------------- corpus


def _laws(rows: list[dict] | None) -> str:
    return " ".join(
        f"{r.get('law') or ''}{r.get('article') or ''} {r.get('note') or ''}" for r in rows or []
    )


def _seed_documents(seeds: Seeds) -> list[Document]:
    """The real departments, service items and approval items (the start of every corpus)."""
    names = {d["code"]: d for d in seeds.departments}
    docs = []
    for d in seeds.departments:
        docs.append(
            Document(
                "department",
                d["code"],
                d["name"],
                f"/departments#{d['code']}",
                keywords=[d["short_name"]] if d.get("short_name") else [],
                body=" ".join(x for x in (d.get("complaint_phone_note"), d["code"]) if x),
                facets={"department": [d["code"]]},
            )
        )
    for s in seeds.services:
        dept = names.get(s.get("department") or "", {})
        docs.append(
            Document(
                "service",
                s["code"],
                s["name"],
                f"/services/{s['code']}",
                keywords=list(s.get("abbreviations") or []),
                body=" ".join(
                    str(x)
                    for x in (
                        _laws(s.get("legal_basis")),
                        s.get("applicability"),
                        s.get("serves_note"),
                        dept.get("name"),
                        dept.get("short_name"),
                        s.get("fee_regime"),
                        s.get("fee_basis"),
                        s.get("time_limit_note"),
                        s.get("qualification_required"),
                        s["code"],
                    )
                    if x
                ),
                facets={
                    "stage": [str(x) for x in s.get("stages") or []],
                    "department": [s["department"]] if s.get("department") else [],
                    "fee_regime": [s.get("fee_regime") or "待核实"],
                },
            )
        )
    for a in seeds.approvals:
        dept = names.get(a.get("department") or "", {})
        docs.append(
            Document(
                "approval",
                a["code"],
                a["name"],
                f"/approval-items/{a['code']}",
                body=" ".join(
                    str(x)
                    for x in (
                        _laws(a.get("legal_basis")),
                        a.get("approving_body"),
                        dept.get("name"),
                        dept.get("short_name"),
                        a.get("applicability"),
                        a.get("time_limit_note"),
                        a.get("tianjin_note"),
                        a["code"],
                    )
                    if x
                ),
                facets={
                    "stage": [str(x) for x in a.get("stages") or []],
                    "department": [a["department"]] if a.get("department") else [],
                },
            )
        )
    return docs


def provider_name(rng: random.Random) -> tuple[str, int]:
    """天津{区名}{字号}{行业词}{后缀}有限公司, and the industry index."""
    district = rng.choice(DISTRICTS)[1] if rng.random() < 0.6 else ""
    brand = "".join(rng.choice(BRAND_CHARS) for _ in range(rng.choice((2, 2, 3, 4))))
    industry = rng.randrange(len(INDUSTRIES))
    suffix = rng.choice(SUFFIXES)
    word = INDUSTRIES[industry][0]
    if suffix == word:
        suffix = "科技"
    return f"天津{district}{brand}{word}{suffix}{rng.choice(COMPANY_FORMS)}", industry


def _address(rng: random.Random) -> str:
    district = rng.choice(DISTRICTS)[0]
    return (
        f"天津市{district}{rng.choice(ROADS)}{rng.randint(1, 999)}号"
        f"{rng.randint(1, 30)}号楼{rng.randint(1, 25)}{rng.randint(1, 20):02d}室"
    )


def _facets(rng: random.Random, *, stages: int, departments: int, fee: bool) -> dict:
    facets = {
        "stage": sorted(rng.sample(STAGES, stages)),
        "department": sorted(rng.sample(DEPARTMENT_CODES, departments)),
    }
    if fee:
        facets["fee_regime"] = [rng.choice(FEE_REGIMES)]
    return facets


def _provider(i: int, rng: random.Random) -> Document:
    name, industry = provider_name(rng)
    services = list(INDUSTRIES[industry][1])
    rng.shuffle(services)
    services = services[: rng.randint(1, len(services))]
    other = rng.choice(INDUSTRIES)[1]
    if rng.random() < 0.4:
        services.append(rng.choice(other))
    quals = rng.sample(QUALIFICATIONS, rng.randint(1, 3))
    body = (
        f"{name}成立于{rng.randint(1995, 2023)}年,注册资本{rng.randint(50, 5000)}万元,"
        f"注册地址:{_address(rng)}。主要从事{'、'.join(services)}等技术服务,"
        f"具有{'、'.join(quals)}。近三年在中介服务超市承接项目{rng.randint(0, 120)}个,"
        f"承诺服务时限{rng.randint(5, 60)}个工作日,收费执行{rng.choice(FEE_REGIMES)}。"
        f"联系电话022-{rng.randint(20000000, 89999999)}。"
    )
    return Document(
        "provider",
        f"P{i:06d}",
        name,
        f"/providers/P{i:06d}",
        keywords=services[:2],
        body=body,
        facets=_facets(rng, stages=rng.randint(1, 2), departments=rng.randint(1, 2), fee=True),
    )


def _notice(i: int, rng: random.Random) -> Document:
    name, industry = provider_name(rng)
    action = rng.choice(NOTICE_ACTIONS)
    service = rng.choice(INDUSTRIES[industry][1])
    fault = rng.choice(NOTICE_FAULTS)
    year = rng.randint(2021, 2025)
    body = (
        f"经查,{name}在承接{rng.choice(DISTRICTS)[0]}{rng.choice(PROJECTS)}项目{service}业务中,"
        f"存在{fault}等问题,经约谈后仍未整改到位。根据《天津滨海高新区中介服务超市管理办法》"
        f"第{rng.randint(10, 40)}条,决定对该公司给予{action},期限{rng.randint(3, 12)}个月,"
        f"期间不得在中介服务超市承接新的项目。特此公告。{year}年{rng.randint(1, 12)}月"
        f"{rng.randint(1, 28)}日"
    )
    return Document(
        "notice",
        f"N{i:06d}",
        f"关于对{name}给予{action}的公告",
        f"/notices/N{i:06d}",
        keywords=[action],
        body=body,
        facets=_facets(rng, stages=0, departments=1, fee=False),
    )


def _item(i: int, rng: random.Random, seeds: Seeds, kind: str) -> Document:
    rows = seeds.services if kind == "service" else seeds.approvals
    row = rng.choice(rows)
    district = rng.choice(DISTRICTS)[0]
    title = f"{row['name']}({district}办理指南)"
    body = (
        f"{district}{row['name']}办理指南。适用范围:{row.get('applicability') or '待核实'}。"
        f"依据:{_laws(row.get('legal_basis'))}。办理时限:{rng.randint(5, 60)}个工作日;"
        f"受理地点:{_address(rng)}政务服务中心{rng.randint(1, 60)}号窗口。"
        f"{row.get('time_limit_note') or ''}"
    )
    return Document(
        kind,
        f"{'S' if kind == 'service' else 'A'}{i:06d}",
        title,
        f"/{'services' if kind == 'service' else 'approval-items'}/{i:06d}",
        keywords=list(row.get("abbreviations") or []) if kind == "service" else [],
        body=body,
        facets=_facets(rng, stages=rng.randint(1, 2), departments=1, fee=kind == "service"),
    )


def corpus(size: int, seeds: Seeds) -> list[Document]:
    """The first `size` documents. Document i depends only on i, so every corpus is a prefix of
    the larger ones and queries built from the first 2000 documents hit at every size."""
    fixed = _seed_documents(seeds)
    docs = fixed[:size]
    for i in range(len(docs), size):
        rng = random.Random(f"{SEED}:doc:{i}")
        r = rng.random()
        if r < 0.80:
            docs.append(_provider(i, rng))
        elif r < 0.93:
            docs.append(_notice(i, rng))
        elif r < 0.98:
            docs.append(_item(i, rng, seeds, "service"))
        else:
            docs.append(_item(i, rng, seeds, "approval"))
    return docs


# -------------------------------------------------------------------------------------- queries

# kind → share of the mix (a kind whose pool is too small gives its share to provider names)
QUERY_SHARES = {
    "provider_full": 0.10,
    "provider_part": 0.12,
    "provider_words": 0.10,
    "service_name": 0.12,
    "abbreviation": 0.10,
    "pinyin": 0.10,
    "typo": 0.08,
    "department": 0.06,
    "phrase": 0.12,
    "notice": 0.10,
}
QUERY_KINDS = tuple(QUERY_SHARES)

# Characters people swap for a homophone (same pinyin, tones ignored).
HOMOPHONES = {
    "评": "平", "保": "报", "审": "婶", "测": "侧", "绘": "会", "理": "里", "价": "架",
    "察": "擦", "雷": "擂", "灾": "栽", "检": "捡", "境": "镜", "程": "城", "质": "治",
    "监": "坚", "勘": "堪", "咨": "资", "询": "讯", "图": "途", "防": "房",
}  # fmt: skip
PHRASES = [
    "中介服务超市", "技术服务", "有限公司", "注册资本", "承接项目", "工作日", "联系电话",
    "服务时限", "收费执行", "管理办法", "特此公告", "政务服务中心", "办理指南", "注册地址",
    "环境影响评价", "警示通报", "未按承诺时限", "施工图审查", "水土保持", "不动产测绘",
    "暂停服务资格", "报告质量", "超出资质范围", "甲级测绘资质", "工程勘察", "违规收取",
]  # fmt: skip


def _partials(names: list[str], rng: random.Random) -> list[str]:
    """A 3-character piece of each name around its brand (字号), e.g. 恒海信 or 海恒海."""
    districts = sorted({d[1] for d in DISTRICTS}, key=len, reverse=True)
    result = []
    for name in names:
        core = name.removeprefix("天津")
        cut = min((core.find(w) for w, _ in INDUSTRIES if core.find(w) > 0), default=-1)
        region = core[:cut] if cut > 0 else ""
        if len(region) < 3:
            continue
        district = next((d for d in districts if region.startswith(d)), "")
        start = rng.randint(max(0, len(district) - 1), len(region) - 3)
        result.append(region[start : start + 3])
    return result


def _typos(words: list[str]) -> list[str]:
    """Homophone typos of Chinese words (one character swapped) and clipped pinyin."""
    result = []
    for word in words:
        for i, char in enumerate(word):
            if char in HOMOPHONES:
                result.append(word[:i] + HOMOPHONES[char] + word[i + 1 :])
                break
        full = pinyin_of(word)[0]
        if len(word) == 2 and len(full) >= 7:
            result.append(full[:-1])  # huanpin
    return result


def query_pools(seeds: Seeds, synonyms: Synonyms, rng: random.Random) -> dict[str, list[str]]:
    """Every candidate query text per kind (names come from the first 2,000 documents, so they
    exist at every size)."""
    sample = corpus(2000, seeds)
    names = [d.title for d in sample if d.kind == "provider"]
    abbreviations = sorted(
        {k for k in synonyms.table if len(k) <= 4} | set(catalogue_words(seeds)), key=str
    )
    services = [s["name"] for s in seeds.services] + [s for _, ss in INDUSTRIES for s in ss]
    pinyin = [p for a in abbreviations for p in pinyin_of(a)]
    return {
        "provider_full": names,
        "provider_part": _partials(names, rng),
        "provider_words": [
            f"天津 {district[1]} {industry[0]}{suffix}有限公司"
            for district in DISTRICTS
            for industry in INDUSTRIES
            for suffix in ("科技", "咨询", "工程")
        ]
        + [f"{d[1]} {w}" for d in DISTRICTS for w, _ in INDUSTRIES],
        "service_name": services,
        "abbreviation": abbreviations,
        "pinyin": pinyin,
        "typo": _typos(abbreviations + [w for s in services for w in SEGMENTER.words(s)]),
        "department": [d["name"] for d in seeds.departments]
        + [d["short_name"] for d in seeds.departments if d.get("short_name")],
        "phrase": [f'"{p}"' for p in PHRASES]
        + [f'"{p}" {w}' for p in PHRASES[:8] for w, _ in INDUSTRIES[::4]],
        "notice": [f"{a} {w}" for a in NOTICE_ACTIONS for w, _ in INDUSTRIES]
        + NOTICE_FAULTS
        + NOTICE_ACTIONS,
    }


def query_mix(count: int, seeds: Seeds, synonyms: Synonyms) -> list[tuple[str, str]]:
    """`count` DISTINCT (kind, text) pairs in the shares above, shuffled; deterministic."""
    rng = random.Random(f"{SEED}:queries")
    pools = query_pools(seeds, synonyms, rng)
    seen: set[str] = set()
    picked: list[tuple[str, str]] = []
    for kind in QUERY_KINDS:
        pool = [q for q in dict.fromkeys(pools[kind]) if q not in seen]
        rng.shuffle(pool)
        for text in pool[: round(count * QUERY_SHARES[kind])]:
            picked.append((kind, text))
            seen.add(text)
    spare = [q for q in dict.fromkeys(pools["provider_full"]) if q not in seen]
    rng.shuffle(spare)
    picked += [("provider_full", q) for q in spare[: max(0, count - len(picked))]]
    rng.shuffle(picked)
    return picked[:count]


def warmup_queries() -> list[str]:
    """Queries outside the measured mix (made-up provider names), to open files and caches."""
    return [provider_name(random.Random(f"{SEED}:warm:{i}"))[0] for i in range(WARMUP)]


# -------------------------------------------------------------------------------------- engines


def dir_size(path: Path) -> int:
    """Bytes under a directory (or one file)."""
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def request_for(text: str, filters: dict | None) -> SearchRequest:
    return SearchRequest(parse_query(text), page=1, per_page=PER_PAGE, **(filters or {}))


class Ours:
    """Our Whoosh backend, used exactly as the app uses it (`registry reindex` may fork)."""

    name = "ours"

    def __init__(self, directory: Path, synonyms: Synonyms) -> None:
        self.directory = directory
        self.synonyms = synonyms
        # As configured by default (SEARCH_REBUILD_PROCS=2) and as `registry reindex` runs it.
        self.backend = WhooshBackend(directory, rebuild_procs=2)
        self.backend.forks_allowed = True

    def build(self, docs: list[Document]) -> None:
        self.backend.rebuild(iter(docs))

    def size(self) -> int:
        return dir_size(self.directory)

    def search(self, text: str, filters: dict | None = None) -> int:
        return self.backend.search(request_for(text, filters), self.synonyms).total

    def update(self, doc: Document, marker: str) -> None:
        self.backend.apply(upserts=[replace(doc, body=f"{doc.body} {marker}")], deletes=[])

    def after_response(self) -> None:
        """What the app does once the response has been sent: merge small segments."""
        self.backend.maintain()

    def forget_queries(self) -> None:
        """Drop the term and phrase caches (for profiling a first run)."""
        self.backend._term_sets.clear()

    def close(self) -> None:
        self.backend.close()


class Postgres:
    """Our PostgreSQL backend (registry/search/pg_backend.py) on its own database."""

    name = "PG"

    def __init__(self, url: str, synonyms: Synonyms) -> None:
        from flask import Flask

        from registry.extensions import db
        from registry.models.search import SearchDocument
        from registry.search.pg_backend import PostgresBackend

        self.db, self.table, self.synonyms = db, SearchDocument.__table__, synonyms
        app = Flask("search_bench")
        app.config["SQLALCHEMY_DATABASE_URI"] = url
        db.init_app(app)
        self.context = app.app_context()
        self.context.push()
        self.table.drop(db.engine, checkfirst=True)
        self.table.create(db.engine)
        self.backend = PostgresBackend()

    def build(self, docs: list[Document]) -> None:
        """The same rows and tsvectors as the backend writes (pg_backend.document_vector), in
        multi-row inserts of 500, then VACUUM ANALYZE. (The backend's own rebuild reads each
        batch back from the application's tables, which this corpus does not have.)"""
        import json

        from sqlalchemy import text

        from registry.search.pg_backend import document_vector

        statement = text(
            "INSERT INTO search_documents (doc_id, kind, key, title, url, body, keywords, "
            "facets, rank, content_hash, tsv) VALUES (:doc_id, :kind, :key, :title, :url, "
            ":body, :keywords, :facets, :rank, :hash, CAST(:tsv AS tsvector))"
        )
        for start in range(0, len(docs), 500):
            rows = [
                {
                    "doc_id": d.doc_id, "kind": d.kind, "key": d.key, "title": d.title,
                    "url": d.url, "body": d.body, "keywords": json.dumps(d.keywords),
                    "facets": json.dumps(d.facets), "rank": d.rank, "hash": d.content_hash(),
                    "tsv": document_vector(d),
                }
                for d in docs[start : start + 500]
            ]  # fmt: skip
            with self.db.engine.begin() as connection:
                connection.execute(statement, rows)
        with self.db.engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(
                text("VACUUM ANALYZE search_documents")
            )

    def size(self) -> int:
        from sqlalchemy import text

        with self.db.engine.connect() as connection:
            return connection.scalar(text("SELECT pg_total_relation_size('search_documents')"))

    def search(self, text: str, filters: dict | None = None) -> int:
        try:
            return self.backend.search(request_for(text, filters), self.synonyms).total
        finally:
            self.db.session.remove()  # the end of a request

    def update(self, doc: Document, marker: str) -> None:
        self.backend.apply(upserts=[replace(doc, body=f"{doc.body} {marker}")], deletes=[])

    def close(self) -> None:
        self.db.session.remove()
        self.table.drop(self.db.engine, checkfirst=True)
        self.db.engine.dispose()
        self.context.pop()


def fts_tokens(text: str) -> tuple[str, str]:
    """(precise-mode words, search-mode sub-words) of text, each joined by spaces: precise words
    stay adjacent, so FTS5 phrases match as ours do."""
    tokens = SEGMENTER.tokens(text, search=True)
    precise = {(t.start, t.end) for t in SEGMENTER.tokens(text, search=False)}
    words = [t.text for t in tokens if (t.start, t.end) in precise]
    extra = [t.text for t in tokens if (t.start, t.end) not in precise]
    return " ".join(words), " ".join(extra)


def _q(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'


def _and(parts: list[str]) -> str:
    return "(" + " AND ".join(parts) + ")"


def _or(parts: list[str]) -> str:
    return "(" + " OR ".join(parts) + ")"


def fts_expansion(text: str) -> str:
    """A synonym's words all in the title or body, or its bigrams all in the title."""
    words = SEGMENTER.words(text)
    grams = [t.text for t in bigrams(text)]
    parts = ["{title body extra} : " + _and([_q(w) for w in words])]
    if grams:
        parts.append("ngram : " + _and([_q(g) for g in grams]))
    return _or(parts)


def fts_chunk(chunk: str, synonyms: Synonyms) -> str:
    """The alternatives of one chunk, as ours (whoosh_queries.chunk_query) has them."""
    words = SEGMENTER.words(chunk)
    content = [w for w in words if w not in STOP_TOKENS] or words
    per_word = []
    for word in content:
        options = ["{title keywords body extra} : " + _q(word)]
        parts = [t.text for t in SEGMENTER.tokens(word) if t.text != word]
        if len(word) >= 3 and parts:
            options.append("{title body extra} : " + _and([_q(p) for p in parts]))
        options += [fts_expansion(e) for e in synonyms.expand(word)]
        per_word.append(_or(options))
    alternatives = [_and(per_word)] if per_word else []
    grams = [t.text for t in bigrams(chunk)]
    if CJK_RE.search(chunk) and grams:
        alternatives.append("ngram : " + _and([_q(g) for g in grams]))
    lowered = chunk.lower()
    if lowered.isascii() and lowered.isalpha():
        alternatives.append("pinyin : " + _q(lowered))
        if len(lowered) >= 4:
            alternatives.append("pinyin : " + _q(lowered) + " *")
    alternatives += [fts_expansion(e) for e in synonyms.expand(chunk)]
    return _or(alternatives)


def fts_phrase(text: str) -> str | None:
    words = SEGMENTER.words(text)
    if not words:
        return None
    grams = [t.text for t in bigrams(text)]
    return _or(["{title body} : " + _q(" ".join(words)), "ngram : " + _q(" ".join(grams))])


def fts_match(text: str, synonyms: Synonyms, *, by_pinyin: bool = False) -> str | None:
    """The FTS5 MATCH expression equivalent to our query; by_pinyin: each Chinese chunk may also
    match by its pinyin (the did-you-mean retry after no hit)."""
    parsed = parse_query(text)
    required, optional = [], []
    for chunk in parsed.chunks:
        words = SEGMENTER.words(chunk)
        expression = fts_chunk(chunk, synonyms)
        if by_pinyin and CJK_RE.search(chunk) and pinyin_of(chunk)[0]:
            expression = _or([expression, "pinyin : " + _q(pinyin_of(chunk)[0])])
        common = bool(words) and all(w in STOP_TOKENS for w in words)
        (optional if common else required).append(expression)
    required += [p for p in (fts_phrase(x) for x in parsed.phrases) if p]
    parts = required or optional
    return " AND ".join(parts) if parts else None


FACET_NAMES = {"kind": "type", "stage": "stage", "department": "department", "fee_regime": "fee"}


class Fts5:
    """SQLite FTS5 over jieba tokens: bm25 top 20 with a snippet, count(*), facet counts."""

    name = "FTS5"
    # The filter is a correlated EXISTS so that FTS5 stays the outer loop.
    TOP = (
        "SELECT d.doc_id, d.title, d.url, snippet(fts, 2, '<mark>', '</mark>', '…', 16) "
        "FROM fts JOIN docs d ON d.id = fts.rowid WHERE fts MATCH ? {filter}"
        "ORDER BY bm25(fts, 4.0, 4.0, 1.0, 1.0, 3.0, 3.0) LIMIT 20"
    )
    COUNT = "SELECT count(*) FROM fts WHERE fts MATCH ? {filter}"
    FILTER = (
        "AND EXISTS (SELECT 1 FROM facet f WHERE f.name = ? AND f.value = ? AND f.doc = fts.rowid) "
    )
    FACETS = (
        "SELECT f.name, f.value, count(*) FROM fts CROSS JOIN facet f ON f.doc = fts.rowid "
        "WHERE fts MATCH ? GROUP BY f.name, f.value"
    )

    def __init__(self, path: Path, synonyms: Synonyms) -> None:
        self.path, self.synonyms = path, synonyms
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(
            """
            CREATE TABLE docs (id INTEGER PRIMARY KEY, doc_id TEXT UNIQUE, kind TEXT,
                               title TEXT, url TEXT);
            CREATE VIRTUAL TABLE fts USING fts5(title, keywords, body, extra, ngram, pinyin,
                                                tokenize='unicode61');
            CREATE TABLE facet (doc INTEGER, name TEXT, value TEXT,
                                PRIMARY KEY (name, value, doc)) WITHOUT ROWID;
            CREATE INDEX facet_doc ON facet (doc);
            """
        )
        self.rowids: dict[str, int] = {}

    @staticmethod
    def columns(doc: Document, body: str) -> tuple[str, ...]:
        title, title_extra = fts_tokens(doc.title)
        keywords, keyword_extra = fts_tokens(" ".join(doc.keywords))
        words, extra = fts_tokens(body)
        full, initials = [], []
        for word in [*SEGMENTER.words(doc.title), *doc.keywords]:
            if CJK_RE.search(word):
                full.append(pinyin_of(word)[0])
                initials.append(pinyin_of(word)[1])
        grams = " ".join(t.text for t in bigrams(" ".join([doc.title, *doc.keywords])))
        extras = " ".join(x for x in (title_extra, keyword_extra, extra) if x)
        return title, keywords, words, extras, grams, " ".join(full + initials)

    def build(self, docs: list[Document]) -> None:
        """Segment every document and insert it, in one transaction, then optimize."""
        self.db.execute("BEGIN")
        for n, doc in enumerate(docs, 1):
            self.db.execute(
                "INSERT INTO docs (id, doc_id, kind, title, url) VALUES (?, ?, ?, ?, ?)",
                (n, doc.doc_id, doc.kind, doc.title, doc.url),
            )
            self.db.execute(
                "INSERT INTO fts (rowid, title, keywords, body, extra, ngram, pinyin) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (n, *self.columns(doc, doc.body)),
            )
            rows = [(n, "type", doc.kind)] + [
                (n, FACET_NAMES[f], v) for f, values in doc.facets.items() for v in values
            ]
            self.db.executemany("INSERT OR IGNORE INTO facet VALUES (?, ?, ?)", rows)
            self.rowids[doc.doc_id] = n
        self.db.execute("COMMIT")
        self.db.execute("INSERT INTO fts (fts) VALUES ('optimize')")
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def size(self) -> int:
        paths = (self.path, Path(f"{self.path}-wal"), Path(f"{self.path}-shm"))
        return sum(p.stat().st_size for p in paths if p.exists())

    def search(self, text: str, filters: dict | None = None) -> int:
        match = fts_match(text, self.synonyms)
        if match is None:
            return 0
        total = self._count(match)
        if not total:
            match = fts_match(text, self.synonyms, by_pinyin=True)
            total = self._count(match)
        self.db.execute(self.FACETS, (match,)).fetchall()
        if not filters:
            self.db.execute(self.TOP.format(filter=""), (match,)).fetchall()
            return total
        ((facet, value),) = filters.items()
        arguments = (match, FACET_NAMES[facet], value)
        self.db.execute(self.TOP.format(filter=self.FILTER), arguments).fetchall()
        return self.db.execute(self.COUNT.format(filter=self.FILTER), arguments).fetchone()[0]

    def _count(self, match: str) -> int:
        return self.db.execute(self.COUNT.format(filter=""), (match,)).fetchone()[0]

    def update(self, doc: Document, marker: str) -> None:
        rowid = self.rowids[doc.doc_id]
        self.db.execute("BEGIN")
        self.db.execute(
            "UPDATE fts SET title = ?, keywords = ?, body = ?, extra = ?, ngram = ?, pinyin = ? "
            "WHERE rowid = ?",
            (*self.columns(doc, f"{doc.body} {marker}"), rowid),
        )
        self.db.execute("UPDATE docs SET title = ? WHERE id = ?", (doc.title, rowid))
        self.db.execute("COMMIT")

    def close(self) -> None:
        self.db.close()


# ---------------------------------------------------------------------------------- measurement


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile (q in 0..100) of values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


@dataclass
class EngineResult:
    """Everything measured for one engine at one size (times in ms, build in s)."""

    build_s: float | None = None
    size_mb: float | None = None
    first_ms: list[float] = field(default_factory=list)  # query i's first run
    repeat_ms: list[float] = field(default_factory=list)  # query i's best repeat
    totals: list[int] = field(default_factory=list)
    filtered_ms: list[float] = field(default_factory=list)
    write_ms: list[float] = field(default_factory=list)
    visible_ms: list[float] = field(default_factory=list)


def facet_filter(i: int) -> dict:
    """The filter of the i-th filtered query: alternately type=provider and department=SW."""
    return {"kind": "provider"} if i % 2 == 0 else {"department": "SW"}


def run_once(engine, text: str, filters: dict | None = None) -> tuple[float, int]:
    start = time.perf_counter()
    total = engine.search(text, filters)
    return (time.perf_counter() - start) * 1000, total


def time_queries(engines: list, queries: list[tuple[str, str]], results: dict, label: str) -> None:
    """Per query: every engine's first run (the engine going first rotates), then the repeats
    interleaved the same way, then (every FILTER_EVERY-th query) a run with a facet filter."""
    for text in warmup_queries():
        for engine in engines:
            engine.search(text)
    step = max(1, len(queries) // 4)
    for i, (_kind, text) in enumerate(queries):
        order = engines[i % len(engines) :] + engines[: i % len(engines)]
        for engine in order:
            elapsed, total = run_once(engine, text)
            results[engine.name].first_ms.append(elapsed)
            results[engine.name].totals.append(total)
        best: dict[str, float] = defaultdict(lambda: float("inf"))
        for _ in range(REPEATS):
            for engine in order:
                best[engine.name] = min(best[engine.name], run_once(engine, text)[0])
        for engine in order:
            results[engine.name].repeat_ms.append(best[engine.name])
        if i % FILTER_EVERY == 0:
            for engine in order:
                elapsed, _total = run_once(engine, text, facet_filter(i // FILTER_EVERY))
                results[engine.name].filtered_ms.append(elapsed)
        if (i + 1) % step == 0:
            log(f"  {label}: {i + 1}/{len(queries)} queries")


def time_updates(engines: list, docs: list[Document], size: int, results: dict) -> None:
    """Change one provider document at a time, engines interleaved; time the write, and the
    write plus searching until it is visible."""
    rng = random.Random(f"{SEED}:updates:{size}")
    providers = [d for d in docs if d.kind == "provider"]
    for n in range(UPDATES):
        doc = rng.choice(providers)
        for engine in engines:
            marker = f"upd{engine.name.lower()}{size}x{n:03d}"
            start = time.perf_counter()
            engine.update(doc, marker)
            results[engine.name].write_ms.append((time.perf_counter() - start) * 1000)
            for _attempt in range(100):
                if engine.search(marker) >= 1:
                    break
            else:
                log(f"  {engine.name}: update {marker} never became visible")
            results[engine.name].visible_ms.append((time.perf_counter() - start) * 1000)
            if hasattr(engine, "after_response"):  # not timed: the user has their response
                engine.after_response()


# --------------------------------------------------------------------------------------- report


def fmt(value: float | None, digits: int = 1) -> str:
    if value is None or value != value:  # None or NaN
        return "—"
    return f"{value:,.{digits}f}"


def ratio(ours: float | None, fts: float | None) -> str:
    if ours is None or fts is None or ours != ours or fts != fts or fts <= 0:
        return "—"
    return f"{ours / fts:.2f}×"


def by_kind(result: EngineResult, queries: list[tuple[str, str]], kind: str) -> list[float]:
    return [ms for (k, _t), ms in zip(queries, result.first_ms, strict=True) if k == kind]


def report_rows(results: dict[str, EngineResult], queries: list[tuple[str, str]]) -> list[tuple]:
    """(metric, one value per engine, digits) rows of the size's table."""
    r = list(results.values())

    def row(name: str, value: Callable[[EngineResult], float | None], digits: int = 1) -> tuple:
        return (name, [value(x) for x in r], digits)

    rows = [
        row("build (s)", lambda x: x.build_s, 1),
        row("index size (MB)", lambda x: x.size_mb, 1),
        row("**first run p50 (ms)**", lambda x: percentile(x.first_ms, 50)),
        row("**first run p95 (ms)**", lambda x: percentile(x.first_ms, 95)),
        row("first run p99 (ms)", lambda x: percentile(x.first_ms, 99)),
        row("**first run max (ms)**", lambda x: max(x.first_ms, default=None)),
        row("repeat p50 (ms)", lambda x: percentile(x.repeat_ms, 50)),
        row("repeat p95 (ms)", lambda x: percentile(x.repeat_ms, 95)),
        row("with a facet filter p95 (ms)", lambda x: percentile(x.filtered_ms, 95)),
    ]
    for kind in QUERY_KINDS:
        rows.append(row(f"first run p95, {kind} (ms)", lambda x, k=kind: percentile(
            by_kind(x, queries, k), 95)))  # fmt: skip
    rows += [
        row("**write one document p95 (ms)**", lambda x: percentile(x.write_ms, 95)),
        row("write → visible p95 (ms)", lambda x: percentile(x.visible_ms, 95)),
        row("mean hits per query", lambda x: sum(x.totals) / max(1, len(x.totals))),
        row("queries with 0 hits", lambda x: float(sum(1 for t in x.totals if t == 0)), 0),
    ]
    return rows


def report(size: int, results: dict[str, EngineResult], queries: list[tuple[str, str]]) -> None:
    """The Markdown table for one size, then the slowest queries of ours."""
    names = list(results)
    print(
        f"\n### {size:,} documents ({len(queries)} distinct queries, "
        f"{len(results['ours'].filtered_ms)} with a filter, {UPDATES} updates; "
        f"load average {os.getloadavg()[0]:.2f})\n"
    )
    print("| metric | " + " | ".join(names) + " | ours/FTS5 |")
    print("|---|" + "---:|" * (len(names) + 1))
    for name, values, digits in report_rows(results, queries):
        cells = " | ".join(fmt(v, digits) for v in values)
        print(f"| {name} | {cells} | {ratio(values[0], values[names.index('FTS5')])} |")
    slowest = sorted(range(len(queries)), key=lambda i: -results["ours"].first_ms[i])[:8]
    print("\nSlowest first runs of ours (ms, with the other engines on the same query):")
    for i in slowest:
        others = ", ".join(f"{n} {fmt(results[n].first_ms[i])}" for n in names[1:])
        print(
            f"- {queries[i][0]} {queries[i][1]!r}: {fmt(results['ours'].first_ms[i])} "
            f"({others}); hits {results['ours'].totals[i]} / FTS5 "
            f"{results['FTS5'].totals[i]}"
        )
    sys.stdout.flush()


def summary(all_results: dict[int, dict[str, EngineResult]]) -> None:
    """PASS/MISS for each goal, at 100k (or the largest size run, said so)."""
    print("\n## Goals\n")
    size = GOAL_SIZE if GOAL_SIZE in all_results else max(all_results)
    if size != GOAL_SIZE:
        print(f"(measured at {size:,}: {GOAL_SIZE:,} was not run)\n")
    for name, res in all_results[size].items():
        if name == "FTS5":
            continue
        fts_p95 = percentile(all_results[size]["FTS5"].first_ms, 95)
        p95, worst = percentile(res.first_ms, 95), max(res.first_ms)
        write = percentile(res.write_ms, 95)
        goals = [
            ("first-run p95 ≤ 3× FTS5", p95 <= 3 * fts_p95,
             f"{fmt(p95)} ms vs 3 × {fmt(fts_p95)} ms ({ratio(p95, fts_p95)})"),
            ("every query ≤ 500 ms (first run)", worst <= 500, f"slowest {fmt(worst)} ms"),
            ("rebuild ≤ 60 s", res.build_s is not None and res.build_s <= 60,
             f"{fmt(res.build_s)} s"),
            ("one write slowed ≤ 50 ms (p95)", write <= 50, f"{fmt(write)} ms"),
        ]  # fmt: skip
        for goal, ok, detail in goals:
            print(f"- {'PASS' if ok else 'MISS'}  {name} at {size:,}: {goal}: {detail}")


def profile(ours: Ours, text: str, size: int) -> None:
    """cProfile the FIRST run of our search for one query (term and phrase caches dropped)."""
    ours.search(text)  # searcher and facet sets, as a live process has them
    ours.forget_queries()
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.enable()
    total = ours.search(text)
    profiler.disable()
    elapsed = (time.perf_counter() - start) * 1000
    print(f"\n## Profile of ours, first run: {text!r} at {size:,} documents")
    print(f"\n{elapsed:,.1f} ms under the profiler, {total} hits\n")
    for order, limit in (("cumulative", 25), ("tottime", 15)):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(order).print_stats(limit)
        print(f"```\n# sorted by {order}\n{out.getvalue().strip()}\n```")
    sys.stdout.flush()


def profile_rebuild(docs: list[Document], workdir: Path) -> None:
    """cProfile a single-process rebuild of these documents (self time, top 25)."""
    backend = WhooshBackend(workdir / "profile-rebuild")
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.enable()
    backend.rebuild(iter(docs))
    profiler.disable()
    backend.close()
    print(f"\n## Profile of a one-process rebuild of {len(docs):,} documents")
    print(f"\n{time.perf_counter() - start:,.1f} s under the profiler\n")
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).strip_dirs().sort_stats("tottime").print_stats(25)
    print(f"```\n{out.getvalue().strip()}\n```")


# ----------------------------------------------------------------------------------------- main


def timed(label: str, action: Callable[[], None]) -> float:
    log(f"{label} …")
    start = time.perf_counter()
    action()
    elapsed = time.perf_counter() - start
    log(f"{label}: {elapsed:.1f} s")
    return elapsed


def build_all(engines: list, docs: list[Document], results: dict) -> None:
    for engine in engines:
        result = results[engine.name]
        result.build_s = timed(
            f"{engine.name}: build {len(docs):,}", lambda e=engine: e.build(docs)
        )
        result.size_mb = engine.size() / 1e6


def run_size(size: int, seeds: Seeds, synonyms: Synonyms, queries, workdir: Path, args):
    """Build every engine on one corpus and measure them, interleaved."""
    log(f"== {size:,} documents: generating corpus")
    docs = corpus(size, seeds)
    base = workdir / f"n{size}"
    base.mkdir()
    engines = [Ours(base / "whoosh", synonyms)]
    if not args.profile_only:
        engines.append(Fts5(base / "fts5.db", synonyms))
        if args.pg_url:
            engines.append(Postgres(args.pg_url, synonyms))
    results = {engine.name: EngineResult() for engine in engines}
    try:
        build_all(engines, docs, results)
        if not args.profile_only:
            time_queries(engines, queries, results, f"{size:,}")
            log(f"  {size:,}: {UPDATES} updates")
            time_updates(engines, docs, size, results)
        for text in args.profile:
            profile(engines[0], text, size)
    finally:
        for engine in engines:
            engine.close()
        shutil.rmtree(base, ignore_errors=True)
    return results


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=",".join(str(s) for s in DEFAULT_SIZES))
    parser.add_argument("--queries", type=int, default=200, help="distinct queries (200)")
    parser.add_argument(
        "--pg-url", help="also measure the PostgreSQL backend (a table in this database)"
    )
    parser.add_argument(
        "--profile", metavar="QUERY", action="append", default=[], help="cProfile a first run"
    )
    parser.add_argument("--profile-only", action="store_true", help="build and profile only")
    parser.add_argument(
        "--profile-rebuild", type=int, metavar="N", help="cProfile a one-process rebuild of N docs"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sizes = sorted({int(s) for s in args.sizes.split(",") if s})
    wall = time.perf_counter()
    seeds = load_seeds()
    synonyms = Synonyms.load(ROOT / "seeds" / "search" / "synonyms.yaml")
    SEGMENTER.add_words(synonyms.words())
    SEGMENTER.add_words(catalogue_words(seeds))
    queries = query_mix(args.queries, seeds, synonyms)
    assert len({text for _k, text in queries}) == len(queries), "queries must be distinct"
    log(f"sizes {sizes}, {len(queries)} distinct queries in {len(QUERY_KINDS)} kinds")
    print("# Search benchmark: ours (Whoosh) vs SQLite FTS5" + (" vs PG" if args.pg_url else ""))
    print(
        f"\nPython {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}, "
        f"{os.cpu_count()} CPUs; sizes {', '.join(f'{s:,}' for s in sizes)}; {len(queries)} "
        "distinct queries, engines interleaved per query; every engine counts facets."
    )
    all_results: dict[int, dict[str, EngineResult]] = {}
    with tempfile.TemporaryDirectory(prefix="search-bench-") as tmp:
        if args.profile_rebuild:
            profile_rebuild(corpus(args.profile_rebuild, seeds), Path(tmp))
        for size in sizes:
            results = run_size(size, seeds, synonyms, queries, Path(tmp), args)
            if not args.profile_only:
                all_results[size] = results
                report(size, results, queries)
    if all_results:
        summary(all_results)
    print(f"\nTotal wall-clock time: {time.perf_counter() - wall:,.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
