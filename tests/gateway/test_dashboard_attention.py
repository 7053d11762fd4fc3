"""The overview's first screen (hub issue 23): the ranking worst first with the province average marked and small
communes apart, the attention cards, and the data time ("Số liệu đến") with its stale warning — on a fixed
snapshot whose numbers are chosen by hand, served by a real gateway whose clock is HUB_CLOCK."""

from __future__ import annotations

import dataclasses
import re
import types

import httpx
import pytest

from hub import codec, systems, topics
from hub.analytics import kpi
from hub.analytics import periods as pr
from hub.gateway import dashboard_attention as attention
from hub.gateway import dashboard_html as html
from hub.gateway.read_model import FeedSnapshot, apply
from hub.gateway.read_queries import province_ranking
from hub.gateway.server import ServerThread
from hub.settings import Settings
from hub.testing import wait_for
from tests.analytics.datasets import COMMUNE, DOSSIER_EVENTS, NOW
from tests.analytics.test_kpi import fold as fold_dossiers
from tests.gateway.test_dashboard import post_login

SCHEMAS = codec.load(Settings.from_env(env={}).schemas_dir)
CLOCK_MS = 1_765_342_800_000  # 2025-12-10 05:00 UTC = 12:00 Vietnam time
MINUTE = 60_000
# month 2025-12: (commune, on time, in scope, overdue open, Decision 766 score of 20 measured points);
# HUB_KPI_MIN_VOLUME is 10 by default
ROWS = [("23734", 6, 12, 0, 12.5), ("23767", 18, 20, 0, 5.0), ("23749", 3, 10, 3, 8.0), ("23728", 0, 4, 0, 1.0)]
# Hand computation: rates 50%, 90%, 30%, 0%; 23728 has 4 < 10 dossiers: not ranked. Best first: 23767 (1),
# 23734 (2), 23749 (3). Province average = (6 + 18 + 3 + 0) / (12 + 20 + 10 + 4) = 27/46 = 58.70%.


def _row(commune: str, on_time: int, in_scope: int, overdue: int, score: float, computed_at: int
         ) -> tuple[str, bytes]:
    """A real KPI row of the reference data set with its commune, counts, score and computed_at replaced."""
    row = kpi.to_avro(kpi.compute(fold_dossiers(DOSSIER_EVENTS).values(), COMMUNE, pr.parse("month", "2025-12"),
                                  NOW), "52")
    key = f"{commune}|month|2025-12"
    row.update(commune_code=commune, period_key=key, dossiers_in_scope=in_scope, dossiers_on_time=on_time,
               timeliness_rate=on_time / in_scope, overdue_open_dossiers=overdue, score_766=score,
               score_766_measured_max=20.0, computed_at=computed_at)
    return key, codec.encode(SCHEMAS.latest(topics.FEED_KPI + "-value"), row)


def _snapshot(computed_at: dict[str, int], built_ms: int) -> FeedSnapshot:
    changes = {"kpi": dict(_row(*values, computed_at[values[0]]) for values in ROWS)}
    return dataclasses.replace(apply(FeedSnapshot(SCHEMAS), changes), built_ms=built_ms)


def test_ranking_is_worst_first_with_the_average_marked_and_small_communes_apart():
    snap = _snapshot({c: CLOCK_MS for c, *_rest in ROWS}, CLOCK_MS)
    ranked = province_ranking(snap, "52", "month", "2025-12")
    best, small, empty = attention.split(ranked, 10)
    assert [c.code for c, _r in best] == ["23767", "23734", "23749"]
    assert [c.code for c, _r in small] == ["23728"] and len(empty) == 135 - 4
    average = attention.province_average(r for _c, r in ranked)
    assert average == (27, 46)
    places = {c.code: n for n, (c, _r) in enumerate(best, 1)}
    worst = html.ranking([(places[c.code], c, r) for c, r in attention.worst_first(best)], small, empty, average,
                         worst_first=True, min_volume=10)
    ranked_part, unranked = worst.split('<h3 id="unranked">')
    order = re.findall(r'<li (?:class="average" )?data-(commune="\d+"|average)', ranked_part)
    assert order == ['commune="23749"', 'commune="23734"', "average", 'commune="23767"']
    assert re.findall(r'<span class="rank">([^<]+)</span>', ranked_part) == ["3", "2", "TB", "1"]
    assert "58,7%" in ranked_part and "27/46 hồ sơ" in ranked_part
    assert unranked.startswith("1 xã có dưới 10 hồ sơ — không xếp hạng") and 'data-commune="23728"' in unranked
    best_html = html.ranking([(places[c.code], c, r) for c, r in best], small, empty, average, worst_first=False,
                             min_volume=10)
    assert re.findall(r'<span class="rank">([^<]+)</span>', best_html.split("<h3")[0]) == ["1", "TB", "2", "3"]


def test_attention_names_the_low_communes_with_their_reasons():
    """Under 90%: 23749 (30%) then 23734 (50%); 23767 at exactly 90% is not under it, but has the lowest
    Decision 766 score of the ranked communes (5 < 8 < 12.5; 23728's 1.0 is not ranked): listed after them."""
    snap = _snapshot({c: CLOCK_MS for c, *_rest in ROWS}, CLOCK_MS)
    best, _small, _empty = attention.split(province_ranking(snap, "52", "month", "2025-12"), 10)
    low = attention.low_communes(best, (27, 46))
    assert [(c.code, reason) for c, reason in low] == [
        ("23749", "Đúng hạn 30,0% (3/10 hồ sơ), xếp 3/3; bình quân tỉnh 58,7%; 3 hồ sơ quá hạn chưa giải quyết; "
                  "điểm 766: 8/20"),
        ("23734", "Đúng hạn 50,0% (6/12 hồ sơ), xếp 2/3; bình quân tỉnh 58,7%; điểm 766: 12,5/20"),
        ("23767", "Đúng hạn 90,0% (18/20 hồ sơ), xếp 1/3; bình quân tỉnh 58,7%; điểm 766: 5/20"),
    ]


def test_data_time_is_the_newest_row_capped_by_the_reading():
    assert attention.data_as_of(1000, [{"computed_at": 400}, {"computed_at": 700}, None]) == 700
    assert attention.data_as_of(500, [{"computed_at": 700}]) == 500  # not newer than when it was read
    assert attention.data_as_of(900, []) == 900 and attention.data_as_of(0, []) is None
    assert attention.stale_after_ms(60, 1000) == 181_000  # 3 × 60 s + 1 s


@pytest.fixture
def clocked(make_settings):
    """A gateway whose clock is 2025-12-10 12:00 (Vietnam), logged in; ``show(snapshot)`` answers /dashboard
    as it renders that snapshot."""
    s = make_settings(clock="2025-12-10T05:00:00Z")
    reader = systems.add(s, "office", role="reader")
    with ServerThread(s) as srv, httpx.Client(base_url=srv.url, timeout=30) as client:
        wait_for(lambda: srv.app.state.read_model.snapshot.caught_up, timeout_s=60, what="read model caught up")
        assert post_login(client, reader).status_code == 303
        model = srv.app.state.read_model

        def show(snap: FeedSnapshot, path: str = "/dashboard") -> str:
            srv.app.state.read_model = types.SimpleNamespace(snapshot=snap)
            try:
                page = client.get(path)
            finally:
                srv.app.state.read_model = model
            assert page.status_code == 200
            return page.text

        yield show


def test_the_page_shows_the_datas_time_and_warns_when_it_is_old(clocked):
    """Fresh: the newest computed_at is 11:59 (not the request's 12:00), one minute old: no warning. Old: every
    row computed at 11:30, 30 minutes before the clock, over the 181 s threshold: the warning says so."""
    fresh = clocked(_snapshot({"23734": CLOCK_MS - MINUTE, "23767": CLOCK_MS - 10 * MINUTE,
                               "23749": CLOCK_MS - 10 * MINUTE, "23728": CLOCK_MS - 10 * MINUTE},
                              built_ms=CLOCK_MS - 30_000))
    assert re.search(r'<p class="asof"[^>]*>([^<]+)</p>', fresh).group(1) == "Số liệu đến 11:59 ngày 10/12/2025"
    assert 'class="error stale"' not in fresh
    assert '<meta http-equiv="refresh" content="60">' in fresh
    assert 'data-order="worst"' in fresh and "feed.kpi" not in fresh  # no topic names for officials
    old = clocked(_snapshot({c: CLOCK_MS - 30 * MINUTE for c, *_rest in ROWS}, built_ms=CLOCK_MS - 29 * MINUTE))
    assert re.search(r'<p class="asof"[^>]*>([^<]+)</p>', old).group(1) == "Số liệu đến 11:30 ngày 10/12/2025"
    warning = re.findall(r'<p class="error stale" role="alert">([^<]+)</p>', old)
    assert len(warning) == 1 and warning[0].startswith("Số liệu chưa được cập nhật trong 30 phút")
    commune = clocked(_snapshot({c: CLOCK_MS - 30 * MINUTE for c, *_rest in ROWS}, built_ms=CLOCK_MS),
                      "/dashboard/communes/23734?month=2025-12")
    assert "Số liệu đến 11:30 ngày 10/12/2025" in commune and 'class="error stale"' in commune
