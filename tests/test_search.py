"""Full-text search: relevance set, hostile input, facets, snippets, and the index kept in step."""

from __future__ import annotations

import html
from pathlib import Path

import pytest
from sqlalchemy import func, select

from registry.extensions import db
from registry.models import SearchOutbox
from registry.search.base import SearchRequest, make_snippet
from registry.search.engine import get_engine
from registry.search.query import parse_query
from registry.services import catalogue
from tests.conftest import post_form


def _search(app, text: str, **filters):
    with app.app_context():
        return get_engine().search(SearchRequest(parse_query(text), **filters))


def _top(app, text: str, n: int = 3) -> list[str]:
    return [hit.doc_id for hit in _search(app, text).hits[:n]]


# The relevance set (tests/search_relevance.yaml) runs in tests/test_search_relevance.py, on the
# catalogue alone and with the demo marketplace, on both backends.


@pytest.mark.parametrize(
    "hostile",
    [
        "NOT OR x",
        "<+<",
        '"unbalanced',
        "title:",
        ":",
        "AND",
        "环评" * 300,
        "\x00\x07环评\x1b",
        "*?~^",
        "((()))",
        "-",
        "-环评",
        "'; DROP TABLE service_items; --",
        "%",
        "\\",
        "　",
    ],
)
def test_search_hostile_queries_never_break(client, hostile):
    page = client.get("/search", query_string={"q": hostile})
    assert page.status_code == 200
    api = client.get("/api/v1/search", query_string={"q": hostile})
    assert api.status_code == 200
    body = api.get_json()
    assert set(body) >= {"items", "total", "page", "per_page", "facets"}


def test_search_syntax_falls_back_with_a_message(app):
    result = _search(app, "NOT 环评 OR")
    assert "service:ZJ-03" in [h.doc_id for h in result.hits]
    assert any("普通文字" in n for n in result.notices)


def test_search_quoted_phrase_matches(app):
    assert "service:ZJ-04" in _top(app, '"水土保持方案"')
    assert _search(app, '"方案水土保持"').total == 0


def test_search_excluded_word(app):
    with_all = {h.doc_id for h in _search(app, "水土保持").hits}
    without = {h.doc_id for h in _search(app, "水土保持 -监测").hits}
    assert "service:ZJ-05" in with_all
    assert "service:ZJ-05" not in without


def test_search_did_you_mean_for_homophones(app):
    result = _search(app, "环坪")
    assert result.suggestion == "环评"
    assert result.hits[0].doc_id == "service:ZJ-03"
    assert any("环评" in n for n in result.notices)


def test_search_snippets_escape_document_text():
    snippet = make_snippet('<b onclick="x()">说明</b><script>alert(1)</script>环评报告', ["环评"])
    assert "<script>" not in snippet
    assert "<b " not in snippet
    assert "&lt;/script&gt;" in snippet
    assert "<mark>环评</mark>" in snippet


def test_search_empty_index_finds_nothing(tmp_path):
    # What a request thread of `registry serve` meets while another thread builds the index on
    # first use (bench/soak_bench.py: 35 answers of 500 in the first seconds).
    from registry.search.whoosh_backend import WhooshBackend

    result = WhooshBackend(tmp_path / "index").search(SearchRequest(parse_query("环评")))
    assert result.total == 0
    assert result.hits == []


def test_search_facets_and_filters(app):
    everything = _search(app, "水土保持")
    assert everything.facets["type"] == {"approval": 2, "service": 2}
    assert everything.facets["department"] == {"SW": 4}
    only_services = _search(app, "水土保持", kind="service")
    assert only_services.total == 2
    assert {h.kind for h in only_services.hits} == {"service"}
    stage_4 = _search(app, "水土保持", stage="4")
    assert {h.doc_id for h in stage_4.hits} == {"service:ZJ-05", "approval:SP-16"}


def test_search_pagination(app):
    first = _search(app, "市住房城乡建设委", per_page=3)
    second = _search(app, "市住房城乡建设委", per_page=3, page=2)
    assert first.total == second.total > 6
    assert not {h.doc_id for h in first.hits} & {h.doc_id for h in second.hits}


def test_search_exact_name_ranks_first(app):
    assert _top(app, "岩土工程勘察", 1) == ["service:ZJ-14"]
    assert _top(app, "市水务局", 1) == ["department:SW"]


@pytest.mark.parametrize(
    ("text", "first"),
    [
        ("环 评", "service:ZJ-03"),  # characters typed one by one
        ("zj03", "service:ZJ-03"),  # a code without its hyphen
        ("ＺＪ０３", "service:ZJ-03"),  # … typed full-width
        ("sp12", "approval:SP-12"),
        ("title:环评", "service:ZJ-03"),  # another engine's field syntax
    ],
)
def test_search_reads_codes_and_words_as_people_type_them(shared_app, text, first):
    """A tester's misses (stop 28): each of these found nothing."""
    assert _top(shared_app, text, 1) == [first]


@pytest.mark.parametrize("text", ["huan ping", "shui tu bao chi", "示例CT-010001"])
def test_search_offers_no_suggestion_that_finds_nothing(shared_app, text):
    """A tester's finding (stop 29): "已为您显示“华 平”的结果" above no result at all. A
    suggestion is offered only when it finds something."""
    result = _search(shared_app, text)
    if result.suggestion is not None:
        assert result.total > 0
        assert any("已为您显示" in notice for notice in result.notices)
    else:
        assert not any("已为您显示" in notice for notice in result.notices)
        assert result.total == 0


def test_search_query_reading_leaves_words_and_numbers_whole():
    """Only a run of single characters is joined, and only a code-shaped word is split."""
    assert parse_query("环 评 报告").chunks == ["环评", "报告"]
    assert parse_query("天津 市").chunks == ["天津", "市"]
    assert parse_query("GB50021 huanping").chunks == ["GB50021", "huanping"]
    assert parse_query("PM10 CO2 c30").chunks == ["PM10", "CO2", "c30"]  # words, not codes
    assert parse_query("title:环评").notices == ["查询中的特殊符号或运算符已按普通文字处理。"]


def test_search_page_highlights_and_links(client):
    page = client.get("/search", query_string={"q": "环评"}).get_data(as_text=True)
    assert 'href="/services/ZJ-03"' in page
    assert "<mark>" in page
    assert "中介服务事项(" in html.unescape(page)  # a facet with its count


def test_search_home_box_lands_on_search(client):
    page = client.get("/").get_data(as_text=True)
    assert 'action="/search"' in page


def test_search_api_shape(client):
    body = client.get("/api/v1/search?q=勘察&type=service").get_json()
    assert body["total"] >= 1
    item = body["items"][0]
    assert set(item) >= {"type", "title", "url", "snippet"}
    assert item["type"] == "service"
    assert {f["value"] for f in body["facets"]["type"]} >= {"service"}


def test_search_sees_a_committed_change_at_once(app, client, make_user, login):
    login(make_user("admin"))
    data = {
        "code": "ZJ-95",
        "name": "海绵城市专项设计咨询",
        "stages": ["2"],
        "department": "ZJW",
        "legal_basis": "地方规定 | | | [GK]",
        "validity": "有效",
        "fee_regime": "",
        "time_limit_unit": "",
        "may_self_prepare": "",
        "covered_by_regional_assessment": "",
    }
    assert post_form(client, "/admin/services/new", data).status_code == 302
    assert _top(app, "海绵城市") == ["service:ZJ-95"]
    with app.app_context():
        assert db.session.scalar(select(func.count(SearchOutbox.id))) == 0
    retired = post_form(client, "/admin/services/ZJ-95/retire", {"retire-reason": "测试"})
    assert retired.status_code == 302
    assert "已废止" in client.get("/services/ZJ-95").get_data(as_text=True)
    assert _top(app, "海绵城市") == []


def test_search_rollback_leaves_nothing(app):
    with app.app_context():
        item = catalogue.get_service("ZJ-03")
        item.name = "不应出现的名称"
        db.session.flush()
        assert db.session.scalar(select(func.count(SearchOutbox.id))) >= 1
        db.session.rollback()
        assert db.session.scalar(select(func.count(SearchOutbox.id))) == 0
    assert _search(app, "不应出现的名称").total == 0
    assert _top(app, "环评")[0] == "service:ZJ-03"


def test_search_crash_leftovers_are_drained_by_next_writer(app):
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    from registry.search import engine as engine_module

    with app.app_context():
        engine = get_engine()
        # A crash after commit but before the drain: outbox rows committed, index never told.
        catalogue.get_service("ZJ-21").name = "交通影响评价报告编制"
        # (On PostgreSQL the index is written inside the transaction, so the only way to get
        # there is a writer whose hooks did not run at all.)
        event.remove(Session, "after_commit", engine_module._after_commit)
        event.remove(Session, "before_commit", engine_module._before_commit)
        try:
            db.session.commit()
        finally:
            event.listen(Session, "after_commit", engine_module._after_commit)
            event.listen(Session, "before_commit", engine_module._before_commit)
        db.session.info.pop("search_pending", None)
        assert engine.verify().stale == ["approval:SP-10", "service:ZJ-21"]
        assert engine.drain() == 2
        assert engine.verify().clean
    assert "service:ZJ-21" in _top(app, "交通影响评价报告编制")


def test_search_reindex_verify_and_repair(app, runner):
    ok = runner.invoke(args=["reindex", "--verify"])
    assert ok.exit_code == 0, ok.output
    with app.app_context():
        engine = get_engine()
        engine.backend.apply([], ["service:ZJ-10"])
    drift = runner.invoke(args=["reindex", "--verify"])
    assert drift.exit_code != 0
    assert "service:ZJ-10" in drift.output
    repaired = runner.invoke(args=["reindex", "--verify", "--repair"])
    assert repaired.exit_code == 0, repaired.output
    assert runner.invoke(args=["reindex", "--verify"]).exit_code == 0
    rebuilt = runner.invoke(args=["reindex"])
    assert rebuilt.exit_code == 0
    assert "已重建索引:58 个文档。" in rebuilt.output


@pytest.mark.parametrize("damage", ["delete_segments", "garble_toc"])
def test_search_broken_index_is_rebuilt_not_served(app, database_url, tmp_path, damage):
    if app.config["SEARCH_BACKEND"] != "whoosh":
        pytest.skip("only the Whoosh backend keeps an index on disk")
    from tests.conftest import make_app

    index_dir = Path(app.config["SEARCH_INDEX_DIR"])
    if damage == "delete_segments":  # kill -9 mid-commit: a TOC naming segments that are gone
        for path in index_dir.rglob("*.seg"):
            path.unlink()
    else:
        for path in index_dir.rglob("*.toc"):
            path.write_bytes(b"\x00garbage\xff" * 8)
    restarted = make_app(database_url, tmp_path)  # a new process opening the damaged directory
    with restarted.app_context():
        result = get_engine().search(SearchRequest(parse_query("环评")))
        assert result.hits[0].doc_id == "service:ZJ-03"
        assert get_engine().verify().clean
        db.session.remove()
        db.engine.dispose()


def test_search_empty_index_beside_existing_data_is_built_on_first_use(app, database_url, tmp_path):
    from sqlalchemy import delete

    from registry.models import SearchDocument
    from tests.conftest import make_app

    # An upgrade that adds search to a running registry: the data exists, the index does not.
    with app.app_context():
        db.session.execute(delete(SearchDocument))
        db.session.commit()
    fresh = make_app(database_url, tmp_path, SEARCH_INDEX_DIR=str(tmp_path / "new-index"))
    with fresh.app_context():
        result = get_engine().search(SearchRequest(parse_query("环评")))
        assert result.hits[0].doc_id == "service:ZJ-03"
        db.session.remove()
        db.engine.dispose()


@pytest.mark.parametrize(
    "query",
    [
        "q=环评&department=" + "a" * 3000,
        "q=环评&stage=" + "水" * 800,
        "q=环评&fee_regime=" + "x" * 500,
        "q=环评&type=" + "y" * 500,
    ],
)
def test_search_oversized_filters_are_not_used(client, query):
    """The page still answers (and says the condition was not used); the API refuses the filter
    with a bounded message instead of answering as if unfiltered (stop 30)."""
    page = client.get(f"/search?{query}")
    assert page.status_code == 200
    assert "无法识别;该条件未使用" in page.get_data(as_text=True)
    response = client.get(f"/api/v1/search?{query}")
    assert response.status_code == 400
    assert len(response.get_json()["error"]["message"]) < 100


def test_search_unlinking_reindexes_the_other_side(app):
    with app.app_context():
        item = catalogue.get_service("ZJ-03")
        item.approval_items = [a for a in item.approval_items if a.code != "SP-05"]
        db.session.commit()
        assert get_engine().verify().clean
    approval_hits = [h.doc_id for h in _search(app, "环境影响报告书", kind="approval").hits]
    assert "approval:SP-05" not in approval_hits


@pytest.mark.demo
def test_search_renaming_an_item_or_a_department_reindexes_its_notices(app):
    """A tester's finding (stop 29): renaming ZJ-03 left its award notices with the old name in
    the index, and a department's short name its credit notices; `registry reindex --verify`
    then failed after an ordinary admin edit."""
    with app.app_context():
        catalogue.get_service("ZJ-03").name = "环境影响评价文件编制(改名)"
        catalogue.get_department("STHJ").short_name = "环保局改名"
        db.session.commit()
        assert get_engine().verify().clean
    awards = _search(app, "改名", kind="award")
    assert awards.total >= 1
    assert all("改名" in hit.title for hit in awards.hits)
    assert _search(app, "环保局改名", kind="notice").total >= 1


@pytest.mark.concurrency
def test_search_threads_searching_while_the_index_changes(app):
    import threading

    errors: list[BaseException] = []

    def reader():
        with app.app_context():
            for _ in range(15):
                try:
                    get_engine().search(SearchRequest(parse_query("水土保持")))
                except BaseException as error:  # noqa: BLE001 - collected and asserted
                    errors.append(error)

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for thread in threads:
        thread.start()
    with app.app_context():
        for n in range(10):
            catalogue.get_service("ZJ-04").time_limit_note = f"第 {n} 次修改"
            db.session.commit()
    for thread in threads:
        thread.join()
    assert errors == []


def _whoosh_only(app):
    if app.config["SEARCH_BACKEND"] != "whoosh":
        pytest.skip("only the Whoosh backend keeps an index on disk")


@pytest.mark.concurrency
def test_search_parallel_rebuild_gives_the_same_index(app, monkeypatch):
    import multiprocessing

    from registry.search import whoosh_backend

    _whoosh_only(app)
    if multiprocessing.get_start_method() != "fork":
        pytest.skip("the parallel rebuild needs the fork start method")
    queries = ["环评", "shuibao", "住建委", "施工图审查", '"水土保持"', "勘察 -岩土"]
    before = {q: sorted(h.doc_id for h in _search(app, q, per_page=50).hits) for q in queries}
    monkeypatch.setattr(whoosh_backend, "PARALLEL_FROM", 10)
    monkeypatch.setattr(whoosh_backend, "PARALLEL_BATCH", 8)
    with app.app_context():
        engine = get_engine()
        engine.backend.rebuild_procs = 2
        engine.allow_forks()
        assert engine.rebuild() == 58
        health = engine.backend.health()
        assert health["documents"] == 58
        assert health["segments"] >= 2  # written by the worker processes, one segment each
        assert engine.verify().clean
    after = {q: sorted(h.doc_id for h in _search(app, q, per_page=50).hits) for q in queries}
    assert after == before
    assert all(after.values())
    assert _top(app, "环评")[0] == "service:ZJ-03"


def test_search_request_commits_do_not_merge_and_segments_stay_few(app, client, make_user, login):
    """Each request's commit adds a small segment; merging happens after the response."""
    from registry.search import whoosh_backend

    _whoosh_only(app)
    login(make_user("admin"))
    data = {
        "code": "ZJ-96",
        "stages": ["2"],
        "department": "ZJW",
        "legal_basis": "地方规定 | | | [GK]",
        "validity": "有效",
        "fee_regime": "",
        "time_limit_unit": "",
        "may_self_prepare": "",
        "covered_by_regional_assessment": "",
    }
    rounds = whoosh_backend.MAX_SEGMENTS + 4
    for n in range(rounds):
        url = "/admin/services/new" if n == 0 else "/admin/services/ZJ-96/edit"
        response = post_form(client, url, {**data, "name": f"海绵城市第{n}版专项咨询"})
        assert response.status_code == 302, response.get_data(as_text=True)
        response.close()  # what the WSGI server does once the response is sent
        with app.app_context():
            segments = get_engine().backend.health()["segments"]
        assert segments <= whoosh_backend.MAX_SEGMENTS + 1
    with app.app_context():
        assert get_engine().verify().clean
    assert _top(app, f"海绵城市第{rounds - 1}版") == ["service:ZJ-96"]
    assert _top(app, "海绵城市第0版") == []


@pytest.mark.parametrize(
    "text",
    [
        "环评",
        "水土保持 方案",
        '"水土保持"',
        '"施工图 审查"',
        '"生产建设项目水土保持方案"',
        '"环境影响评价 报告"',
        '"中介服务"',  # common words: positions read by whoosh_sets.phrase_docs
        '"依据 法"',
        "勘察 -岩土",
        "shuibao",
        "kanc",
        "住建委 测绘",
        "天津 生态环境局",
        "环坪",
    ],
)
def test_search_set_evaluation_matches_whoosh(app, text):
    """The set algebra that counts matches agrees with Whoosh's own matchers, query by query,
    and again after documents were deleted and re-added."""

    _whoosh_only(app)
    with app.app_context():
        engine = get_engine()
        backend = engine.backend
        for round_ in range(2):
            searcher = backend._reader()
            query = backend.build_query(parse_query(text), engine.synonyms, searcher)
            evaluation, matched = backend._evaluate(searcher, query)
            assert matched == frozenset(searcher.docs_for_query(query)), round_
            assert evaluation.of(query) >= matched
            for n in range(3):  # new versions: deletions in old segments, new small segments
                catalogue.get_service("ZJ-04").time_limit_note = f"第 {n} 次修改"
                db.session.commit()
