"""Search benchmark: our Whoosh backend against SQLite FTS5 and a plain LIKE scan.

Not part of the test suite. Run it standalone from the repository root:

    .venv/bin/python bench/search_bench.py                      # sizes 2000,20000,100000
    .venv/bin/python bench/search_bench.py --quick              # sizes 2000,20000
    .venv/bin/python bench/search_bench.py --sizes 100000 --profile-only --profile '天津 滨海 环境科技有限公司'

All three engines index the SAME deterministic synthetic corpus (about 80% providers, the rest
credit notices and service/approval-like items, plus the real departments, service items and
approval items from seeds/) and answer the SAME deterministic query mix, in one run:

* ours  — registry.search.whoosh_backend.WhooshBackend: rebuild(), search() (which always counts
          facets over the whole match set), apply() for single-document updates.
* FTS5  — a SQLite FTS5 table (unicode61 tokenizer) over the space-joined jieba tokens of each
          field (SEGMENTER.tokens(text, search=True)); queries AND the quoted precise-mode words
          of the query, rank by bm25 (title and keywords weighted 4), take the top 20 with a
          snippet plus the exact count(*). No synonyms, no pinyin, no bigrams: a lower bound.
* LIKE  — a plain SQLite table; every query chunk must match `title LIKE '%q%' OR body LIKE '%q%'`;
          first 20 rows plus count(*).

A "facet query" adds a filter (alternately type=provider and department=SW). Ours computes the
facet counts as always; FTS5 adds GROUP BY counts over the unfiltered match set (as ours does).
Update latency is the time from writing one changed document until a search sees it.

Timings use time.perf_counter; every engine is warmed with a few queries first. Progress goes
to stderr; the tables (Markdown) go to stdout. The goals are reported as PASS/MISS; the process
never fails because of them.
"""

from __future__ import annotations

import argparse
import cProfile
import io
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

from registry.search.analysis import SEGMENTER, Synonyms  # noqa: E402
from registry.search.base import SearchRequest  # noqa: E402
from registry.search.documents import Document  # noqa: E402
from registry.search.query import parse_query  # noqa: E402
from registry.search.whoosh_backend import WhooshBackend  # noqa: E402

SEED = 20241031
DEFAULT_SIZES = (2000, 20000, 100000)
QUICK_SIZES = (2000, 20000)
GOAL_SIZE = 100000
PER_PAGE = 20
WARMUP = 5
UPDATES = 20

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

QUERY_KINDS = (
    "abbreviation",
    "service_name",
    "org_multiword",
    "partial_name",
    "full_name",
    "pinyin",
    "department",
    "phrase",
    "notice",
)


def query_mix(count: int, seeds: Seeds) -> list[tuple[str, str]]:
    """(kind, query text), deterministic; names come from the first 2000 documents."""
    rng = random.Random(f"{SEED}:queries")
    sample = corpus(2000, seeds)
    names = [d.title for d in sample if d.kind == "provider"]
    partials = []
    districts = sorted({d[1] for d in DISTRICTS}, key=len, reverse=True)
    for name in names:
        core = name.removeprefix("天津")  # district + brand + industry + suffix + form
        cut = min((core.find(w) for w, _ in INDUSTRIES if core.find(w) > 0), default=-1)
        if cut <= 0:
            continue
        region = core[:cut]
        district = next((d for d in districts if region.startswith(d)), "")
        brand_start = len(district)
        if len(region) < 3:
            continue
        # a 3-character substring that includes the brand (字号), e.g. 恒海信 or 海恒海
        start = rng.randint(max(0, brand_start - 1), len(region) - 3)
        partials.append(region[start : start + 3])
    departments = [d["name"] for d in seeds.departments] + [
        d["short_name"] for d in seeds.departments if d.get("short_name")
    ]
    pools = {
        "abbreviation": [
            "环评",
            "水保",
            "图审",
            "勘察",
            "测绘",
            "能评",
            "安评",
            "地灾",
            "交评",
            "监理",
            "造价",
            "检测",
            "防雷",
            "人防",
            "多测合一",
            "职评",
        ],
        "service_name": [
            "环境影响评价报告书编制",
            "水土保持方案编制",
            "岩土工程勘察",
            "施工图审查",
            "不动产测绘",
            "地质灾害危险性评估",
            "交通影响评价",
            "工程造价咨询",
            "建设工程质量检测",
            "规划放线验线测量",
            "土壤污染状况调查",
            "节能报告编制",
            "水资源论证报告书编制",
            "雷电灾害风险评估",
        ],
        "org_multiword": [
            f"天津 {district[1]} {industry[0]}{suffix}有限公司"
            for district in DISTRICTS
            for industry in INDUSTRIES[:8]
            for suffix in ("科技", "咨询", "工程")
        ],
        "partial_name": partials,
        "full_name": names,
        "pinyin": [
            "huanping",
            "shuibao",
            "tushen",
            "kancha",
            "cehui",
            "nengping",
            "anping",
            "jiaoping",
            "jianli",
            "zaojia",
            "hp",
            "sb",
        ],
        "department": departments,
        "phrase": [
            '"有限公司"',
            '"环境影响评价"',
            '"警示通报"',
            '"未按承诺时限"',
            '"施工图审查"',
            '"水土保持"',
            '"不动产测绘"',
            '"中介服务超市"',
        ],
        "notice": [
            "警示通报",
            "未按承诺时限完成",
            "暂停服务资格",
            "通报批评 环境",
            "违规收取额外费用",
            "警示通报 测绘",
            "弄虚作假",
        ],
    }
    return [
        (QUERY_KINDS[i % len(QUERY_KINDS)], rng.choice(pools[QUERY_KINDS[i % len(QUERY_KINDS)]]))
        for i in range(count)
    ]


# -------------------------------------------------------------------------------------- engines


def dir_size(path: Path) -> int:
    """Bytes under a directory (or one file)."""
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


class Ours:
    """Our Whoosh backend, used exactly as the app uses it."""

    name = "ours"

    def __init__(self, directory: Path, synonyms: Synonyms) -> None:
        self.directory = directory
        self.synonyms = synonyms
        # As the app is configured by default (SEARCH_REBUILD_PROCS=2).
        self.backend = WhooshBackend(directory, rebuild_procs=2)

    def build(self, docs: list[Document]) -> None:
        """Full rebuild."""
        step = max(1, len(docs) // 10)
        done = [0]

        def progress(n: int) -> None:
            done[0] += n
            if done[0] % step == 0:
                log(f"  ours: indexed {done[0]}/{len(docs)}")

        self.backend.rebuild(iter(docs), progress)

    def size(self) -> int:
        return dir_size(self.directory)

    def search(self, text: str, filters: dict | None = None) -> int:
        request = SearchRequest(parse_query(text), page=1, per_page=PER_PAGE, **(filters or {}))
        return self.backend.search(request, self.synonyms).total

    def update(self, doc: Document, marker: str) -> None:
        self.backend.apply(upserts=[replace(doc, body=f"{doc.body} {marker}")], deletes=[])

    def after_response(self) -> None:
        """What the app does once the response has been sent: merge small segments."""
        self.backend.maintain()

    def close(self) -> None:
        self.backend.close()


def fts_tokens(text: str) -> str:
    """The jieba tokens of text (search mode, as our index side), joined by spaces."""
    return " ".join(t.text for t in SEGMENTER.tokens(text, search=True))


def fts_match(text: str) -> str | None:
    """FTS5 MATCH expression: quoted precise words of each chunk, ANDed; phrases as phrases."""
    parsed = parse_query(text)

    def quote(word: str) -> str:
        return '"' + word.replace('"', '""') + '"'

    parts = [quote(w) for chunk in parsed.chunks for w in SEGMENTER.words(chunk)]
    for phrase in parsed.phrases:
        words = SEGMENTER.words(phrase)
        if words:
            parts.append(quote(" ".join(words)))
    return " AND ".join(parts) or None


FACET_NAMES = {"kind": "type", "stage": "stage", "department": "department", "fee_regime": "fee"}


class Fts5:
    """SQLite FTS5 over jieba tokens: bm25 top 20 + count(*), facets by GROUP BY."""

    name = "FTS5"
    # The filter is a correlated EXISTS so that FTS5 stays the outer loop: `rowid IN (…)` would
    # make SQLite run the full-text query once per candidate rowid.
    TOP = (
        "SELECT d.doc_id, d.title, d.url, snippet(fts, 2, '<mark>', '</mark>', '…', 16) "
        "FROM fts JOIN docs d ON d.id = fts.rowid WHERE fts MATCH ? {filter}"
        "ORDER BY bm25(fts, 4.0, 4.0, 1.0) LIMIT 20"
    )
    COUNT = "SELECT count(*) FROM fts WHERE fts MATCH ? {filter}"
    FILTER = (
        "AND EXISTS (SELECT 1 FROM facet f WHERE f.name = ? AND f.value = ? AND f.doc = fts.rowid) "
    )
    FACETS = (
        "SELECT f.name, f.value, count(*) FROM fts CROSS JOIN facet f ON f.doc = fts.rowid "
        "WHERE fts MATCH ? GROUP BY f.name, f.value"
    )

    def __init__(self, path: Path) -> None:
        self.path = path
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(
            """
            CREATE TABLE docs (id INTEGER PRIMARY KEY, doc_id TEXT UNIQUE, kind TEXT,
                               title TEXT, url TEXT);
            CREATE VIRTUAL TABLE fts USING fts5(title, keywords, body, tokenize='unicode61');
            CREATE TABLE facet (doc INTEGER, name TEXT, value TEXT,
                                PRIMARY KEY (name, value, doc)) WITHOUT ROWID;
            CREATE INDEX facet_doc ON facet (doc);
            """
        )
        self.rowids: dict[str, int] = {}

    def build(self, docs: list[Document]) -> None:
        """Segment every document and insert it, in one transaction, then optimize."""
        step = max(1, len(docs) // 10)
        self.db.execute("BEGIN")
        for n, doc in enumerate(docs, 1):
            self.db.execute(
                "INSERT INTO docs (id, doc_id, kind, title, url) VALUES (?, ?, ?, ?, ?)",
                (n, doc.doc_id, doc.kind, doc.title, doc.url),
            )
            self.db.execute(
                "INSERT INTO fts (rowid, title, keywords, body) VALUES (?, ?, ?, ?)",
                (
                    n,
                    fts_tokens(doc.title),
                    fts_tokens(" ".join(doc.keywords)),
                    fts_tokens(doc.body),
                ),
            )
            rows = [(n, "type", doc.kind)] + [
                (n, FACET_NAMES[f], v) for f, values in doc.facets.items() for v in values
            ]
            self.db.executemany("INSERT OR IGNORE INTO facet VALUES (?, ?, ?)", rows)
            self.rowids[doc.doc_id] = n
            if n % step == 0:
                log(f"  FTS5: indexed {n}/{len(docs)}")
        self.db.execute("COMMIT")
        self.db.execute("INSERT INTO fts (fts) VALUES ('optimize')")
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def size(self) -> int:
        return sum(
            p.stat().st_size
            for p in (self.path, Path(f"{self.path}-wal"), Path(f"{self.path}-shm"))
            if p.exists()
        )

    def search(self, text: str, filters: dict | None = None) -> int:
        match = fts_match(text)
        if match is None:
            return 0
        if filters:
            ((facet, value),) = filters.items()
            name = "type" if facet == "kind" else facet
            self.db.execute(self.TOP.format(filter=self.FILTER), (match, name, value)).fetchall()
            total = self.db.execute(self.COUNT.format(filter=self.FILTER), (match, name, value))
            total = total.fetchone()[0]
            self.db.execute(self.FACETS, (match,)).fetchall()
            return total
        self.db.execute(self.TOP.format(filter=""), (match,)).fetchall()
        return self.db.execute(self.COUNT.format(filter=""), (match,)).fetchone()[0]

    def update(self, doc: Document, marker: str) -> None:
        rowid = self.rowids[doc.doc_id]
        self.db.execute("BEGIN")
        self.db.execute(
            "UPDATE fts SET title = ?, keywords = ?, body = ? WHERE rowid = ?",
            (
                fts_tokens(doc.title),
                fts_tokens(" ".join(doc.keywords)),
                fts_tokens(f"{doc.body} {marker}"),
                rowid,
            ),
        )
        self.db.execute("UPDATE docs SET title = ? WHERE id = ?", (doc.title, rowid))
        self.db.execute("COMMIT")

    def close(self) -> None:
        self.db.close()


class Like:
    """A plain SQLite table scanned with LIKE '%q%' (title or body), first 20 + count(*)."""

    name = "LIKE"
    CONDITION = "(title LIKE ? ESCAPE '\\' OR body LIKE ? ESCAPE '\\')"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute(
            "CREATE TABLE docs (id INTEGER PRIMARY KEY, doc_id TEXT UNIQUE, kind TEXT, "
            "title TEXT, url TEXT, keywords TEXT, body TEXT)"
        )

    def build(self, docs: list[Document]) -> None:
        self.db.execute("BEGIN")
        self.db.executemany(
            "INSERT INTO docs (doc_id, kind, title, url, keywords, body) VALUES (?, ?, ?, ?, ?, ?)",
            ((d.doc_id, d.kind, d.title, d.url, " ".join(d.keywords), d.body) for d in docs),
        )
        self.db.execute("COMMIT")
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def size(self) -> int:
        return sum(
            p.stat().st_size
            for p in (self.path, Path(f"{self.path}-wal"), Path(f"{self.path}-shm"))
            if p.exists()
        )

    def search(self, text: str, filters: dict | None = None) -> int:
        parsed = parse_query(text)
        terms = [*parsed.chunks, *parsed.phrases]
        if not terms:
            return 0
        where = " AND ".join([self.CONDITION] * len(terms))
        params = []
        for term in terms:
            escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            params += [f"%{escaped}%", f"%{escaped}%"]
        self.db.execute(
            f"SELECT doc_id, title, url, substr(body, 1, 80) FROM docs WHERE {where} LIMIT 20",  # noqa: S608
            params,
        ).fetchall()
        return self.db.execute(f"SELECT count(*) FROM docs WHERE {where}", params).fetchone()[0]  # noqa: S608

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
    query_ms: list[float] = field(default_factory=list)
    by_kind: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    totals: list[int] = field(default_factory=list)
    facet_ms: list[float] = field(default_factory=list)
    update_ms: list[float] = field(default_factory=list)
    write_ms: list[float] = field(default_factory=list)


def facet_filter(i: int) -> dict:
    """The filter of the i-th facet query: alternately type=provider and department=SW."""
    return {"kind": "provider"} if i % 2 == 0 else {"department": "SW"}


def time_queries(
    engine,
    queries: list[tuple[str, str]],
    result: EngineResult,
    *,
    facet_count: int,
    label: str,
) -> None:
    """Warm the engine, then time every query; then, if facet_count, that many evenly spaced
    queries (every kind appears) again with a facet filter."""
    facets = facet_count > 0
    for _kind, text in queries[:WARMUP]:
        engine.search(text)
        if facets:
            engine.search(text, facet_filter(0))
    step = max(1, len(queries) // 4)
    for i, (kind, text) in enumerate(queries):
        start = time.perf_counter()
        total = engine.search(text)
        elapsed = (time.perf_counter() - start) * 1000
        result.query_ms.append(elapsed)
        result.by_kind[kind].append(elapsed)
        result.totals.append(total)
        if (i + 1) % step == 0:
            log(f"  {label}: {i + 1}/{len(queries)} queries")
    if facets:
        picked = queries[:: max(1, len(queries) // facet_count)][:facet_count]
        for i, (_kind, text) in enumerate(picked):
            start = time.perf_counter()
            engine.search(text, facet_filter(i))
            result.facet_ms.append((time.perf_counter() - start) * 1000)
        log(f"  {label}: {len(picked)} facet queries")


def time_updates(engine, docs: list[Document], size: int, result: EngineResult) -> None:
    """Change one provider document at a time; time write + searching until it is visible."""
    rng = random.Random(f"{SEED}:updates:{size}")
    providers = [d for d in docs if d.kind == "provider"]
    for n in range(UPDATES):
        doc = rng.choice(providers)
        marker = f"upd{engine.name.lower()}{size}x{n:03d}"
        start = time.perf_counter()
        engine.update(doc, marker)
        result.write_ms.append((time.perf_counter() - start) * 1000)
        for _attempt in range(100):
            if engine.search(marker) >= 1:
                break
        else:
            log(f"  {engine.name}: update {marker} never became visible")
        result.update_ms.append((time.perf_counter() - start) * 1000)
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


def report(size: int, results: dict[str, EngineResult], queries: list[tuple[str, str]]) -> None:
    """The Markdown table for one size, then the slowest query kinds for ours."""
    ours, fts, like = results["ours"], results["FTS5"], results["LIKE"]
    rows: list[tuple[str, float | None, float | None, float | None, int]] = [
        ("build time (s)", ours.build_s, fts.build_s, like.build_s, 2),
        ("index size on disk (MB)", ours.size_mb, fts.size_mb, like.size_mb, 1),
        ("query median, all (ms)", *(percentile(r.query_ms, 50) for r in (ours, fts, like)), 1),
        ("query p95, all (ms)", *(percentile(r.query_ms, 95) for r in (ours, fts, like)), 1),
    ]
    for kind in QUERY_KINDS:
        engines = (ours, fts, like)
        rows.append(
            (f"query median, {kind} (ms)", *(percentile(r.by_kind[kind], 50) for r in engines), 1)
        )
        rows.append(
            (f"query p95, {kind} (ms)", *(percentile(r.by_kind[kind], 95) for r in engines), 1)
        )
    rows += [
        ("facet query median (ms)", percentile(ours.facet_ms, 50), percentile(fts.facet_ms, 50),
         None, 1),
        ("facet query p95 (ms)", percentile(ours.facet_ms, 95), percentile(fts.facet_ms, 95),
         None, 1),
        ("write (index one document) p95 (ms)", percentile(ours.write_ms, 95),
         percentile(fts.write_ms, 95), None, 1),
        ("update→visible p50 (ms)", percentile(ours.update_ms, 50), percentile(fts.update_ms, 50),
         None, 1),
        ("update→visible p95 (ms)", percentile(ours.update_ms, 95), percentile(fts.update_ms, 95),
         None, 1),
        ("mean hits per query", *(sum(r.totals) / max(1, len(r.totals)) for r in (ours, fts, like)),
         1),
        ("queries with 0 hits", *(float(sum(1 for t in r.totals if t == 0)) for r in
                                  (ours, fts, like)), 0),
    ]  # fmt: skip
    print(
        f"\n### {size:,} documents ({len(queries)} queries, {len(ours.facet_ms)} facet queries, "
        f"{UPDATES} updates)\n"
    )
    print("| metric | ours | FTS5 | LIKE | ours/FTS5 |")
    print("|---|---:|---:|---:|---:|")
    for name, a, b, c, digits in rows:
        print(
            f"| {name} | {fmt(a, digits)} | {fmt(b, digits)} | {fmt(c, digits)} | {ratio(a, b)} |"
        )
    slow = sorted(QUERY_KINDS, key=lambda k: percentile(ours.by_kind[k], 95), reverse=True)[:3]
    print("\nSlowest query kinds for ours (by p95):")
    for kind in slow:
        worst = max(
            ((ms, text) for (k, text), ms in zip(queries, ours.query_ms, strict=True) if k == kind),
            default=(float("nan"), ""),
        )
        print(
            f"- {kind}: median {fmt(percentile(ours.by_kind[kind], 50))} ms, "
            f"p95 {fmt(percentile(ours.by_kind[kind], 95))} ms "
            f"(FTS5 p95 {fmt(percentile(fts.by_kind[kind], 95))} ms); "
            f"slowest: {worst[1]!r} {fmt(worst[0])} ms"
        )
    sys.stdout.flush()


def summary(all_results: dict[int, dict[str, EngineResult]]) -> None:
    """PASS/MISS for each goal, at 100k (or the largest size run, said so)."""
    print("\n## Goals\n")
    if not all_results:
        print("(nothing measured)")
        return
    size = GOAL_SIZE if GOAL_SIZE in all_results else max(all_results)
    note = "" if size == GOAL_SIZE else f" (measured at {size:,}: {GOAL_SIZE:,} was not run)"
    res = all_results[size]
    ours_p95 = percentile(res["ours"].query_ms, 95)
    fts_p95 = percentile(res["FTS5"].query_ms, 95)
    like_p95 = percentile(res["LIKE"].query_ms, 95)
    write_p95 = percentile(res["ours"].write_ms, 95)
    visible_p95 = percentile(res["ours"].update_ms, 95)
    goals = [
        (
            f"query p95 ≤ 3× FTS5 p95 at {size:,}",
            ours_p95 <= 3 * fts_p95,
            f"{fmt(ours_p95)} ms vs 3 × {fmt(fts_p95)} = {fmt(3 * fts_p95)} ms",
        ),
        (
            f"query p95 < LIKE p95 at {size:,}",
            ours_p95 < like_p95,
            f"{fmt(ours_p95)} ms vs {fmt(like_p95)} ms",
        ),
        (
            f"full rebuild ≤ 60 s at {size:,}",
            res["ours"].build_s is not None and res["ours"].build_s <= 60,
            f"{fmt(res['ours'].build_s, 2)} s",
        ),
        (
            f"write slowed ≤ 50 ms at p95 by indexing at {size:,}",
            write_p95 <= 50,
            f"{fmt(write_p95)} ms",
        ),
        (
            f"a write visible to readers within 1 s at {size:,} (p95)",
            visible_p95 <= 1000,
            f"{fmt(visible_p95)} ms",
        ),
    ]
    if note:
        print(note.strip())
    for name, ok, detail in goals:
        print(f"- {'PASS' if ok else 'MISS'}  {name}: {detail}")


def profile(ours: Ours, text: str, size: int, repeat: int) -> None:
    """cProfile our search for one query; top 25 by cumulative time (and 15 by own time)."""
    ours.search(text)  # warm (searcher, facet cache)
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.enable()
    for _ in range(repeat):
        total = ours.search(text)
    profiler.disable()
    elapsed = (time.perf_counter() - start) * 1000 / repeat
    print(f"\n## Profile of ours: {text!r} at {size:,} documents")
    print(f"\n{repeat} run(s), {elapsed:,.1f} ms per run under the profiler, {total} hits\n")
    for order, limit in (("cumulative", 25), ("tottime", 15)):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(order).print_stats(limit)
        print(f"```\n# sorted by {order}\n{out.getvalue().strip()}\n```")
    sys.stdout.flush()


# ----------------------------------------------------------------------------------------- main


def timed(label: str, action: Callable[[], None]) -> float:
    log(f"{label} …")
    start = time.perf_counter()
    action()
    elapsed = time.perf_counter() - start
    log(f"{label}: {elapsed:.2f} s")
    return elapsed


def run_size(
    size: int,
    seeds: Seeds,
    synonyms: Synonyms,
    queries: list[tuple[str, str]],
    workdir: Path,
    *,
    profile_queries: list[str],
    profile_repeat: int,
    profile_only: bool,
    facet_queries: int,
) -> dict[str, EngineResult]:
    """Build all three engines on one corpus and measure them."""
    log(f"== {size:,} documents: generating corpus")
    docs = corpus(size, seeds)
    base = workdir / f"n{size}"
    base.mkdir()
    ours = Ours(base / "whoosh", synonyms)
    results = {name: EngineResult() for name in ("ours", "FTS5", "LIKE")}
    try:
        results["ours"].build_s = timed(f"ours: rebuild {size:,}", lambda: ours.build(docs))
        results["ours"].size_mb = ours.size() / 1e6
        if profile_only:
            for text in profile_queries:
                profile(ours, text, size, profile_repeat)
            return results
        fts = Fts5(base / "fts5.db")
        like = Like(base / "like.db")
        try:
            results["FTS5"].build_s = timed(f"FTS5: build {size:,}", lambda: fts.build(docs))
            results["FTS5"].size_mb = fts.size() / 1e6
            results["LIKE"].build_s = timed(f"LIKE: build {size:,}", lambda: like.build(docs))
            results["LIKE"].size_mb = like.size() / 1e6
            for engine in (ours, fts, like):
                time_queries(
                    engine,
                    queries,
                    results[engine.name],
                    facet_count=0 if engine.name == "LIKE" else facet_queries,
                    label=f"{engine.name} @ {size:,}",
                )
            for text in profile_queries:
                profile(ours, text, size, profile_repeat)
            for engine in (ours, fts):
                log(f"  {engine.name} @ {size:,}: {UPDATES} updates")
                time_updates(engine, docs, size, results[engine.name])
        finally:
            fts.close()
            like.close()
    finally:
        ours.close()
        shutil.rmtree(base, ignore_errors=True)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        default=",".join(str(s) for s in DEFAULT_SIZES),
        help="comma-separated corpus sizes (default %(default)s)",
    )
    parser.add_argument("--quick", action="store_true", help="sizes 2000,20000 only")
    parser.add_argument("--queries", type=int, default=200, help="queries per size (default 200)")
    parser.add_argument(
        "--facet-queries",
        type=int,
        default=50,
        help="of those, how many (evenly spaced) also run with a facet filter (default 50)",
    )
    parser.add_argument(
        "--profile",
        metavar="QUERY",
        action="append",
        default=[],
        help="cProfile our search for QUERY at the largest size and print the top 25 entries "
        "(may be given more than once)",
    )
    parser.add_argument(
        "--profile-repeat", type=int, default=3, help="runs of the profiled query (default 3)"
    )
    parser.add_argument(
        "--profile-only",
        action="store_true",
        help="with --profile: build only our index at the largest size and profile, no benchmark",
    )
    args = parser.parse_args(argv)
    sizes = list(QUICK_SIZES) if args.quick else [int(s) for s in args.sizes.split(",") if s]
    sizes = sorted(set(sizes))
    if args.profile_only:
        if not args.profile:
            parser.error("--profile-only needs --profile QUERY")
        sizes = sizes[-1:]

    wall = time.perf_counter()
    seeds = load_seeds()
    synonyms = Synonyms.load(ROOT / "seeds" / "search" / "synonyms.yaml")
    SEGMENTER.add_words(synonyms.words())
    SEGMENTER.add_words(catalogue_words(seeds))
    queries = query_mix(args.queries, seeds)
    log(f"sizes {sizes}, {len(queries)} queries in {len(QUERY_KINDS)} kinds")

    print("# Search benchmark: ours (Whoosh) vs SQLite FTS5 (jieba tokens) vs LIKE scan")
    print(
        f"\nPython {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}; "
        f"sizes {', '.join(f'{s:,}' for s in sizes)}; {len(queries)} queries; "
        "times are wall-clock (perf_counter); 'query' for ours includes facet counts."
    )
    all_results: dict[int, dict[str, EngineResult]] = {}
    with tempfile.TemporaryDirectory(prefix="search-bench-") as tmp:
        for size in sizes:
            results = run_size(
                size,
                seeds,
                synonyms,
                queries,
                Path(tmp),
                profile_queries=args.profile if size == sizes[-1] else [],
                profile_repeat=args.profile_repeat,
                profile_only=args.profile_only,
                facet_queries=args.facet_queries,
            )
            if not args.profile_only:
                all_results[size] = results
                report(size, results, queries)
    if not args.profile_only:
        summary(all_results)
    print(f"\nTotal wall-clock time: {time.perf_counter() - wall:,.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
