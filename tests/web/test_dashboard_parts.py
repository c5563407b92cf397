"""The dashboard's pure parts: the SVG chart, the template filters, the filter form's reading."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from werkzeug.datastructures import MultiDict

from middleware.filters import FilterSchema, InputError, load
from middleware.store import Activity, EventFilter, HourActivity
from middleware.web.dashboard.chart import render_svg
from middleware.web.dashboard.filter_args import filter_fields, filter_input
from middleware.web.dashboard.formatting import code_spans, https_url, time_tag, with_query

NOW = datetime(2026, 11, 25, 12, 30, tzinfo=UTC)


def hour(i: int, backlog: int = 0, **received: int) -> HourActivity:
    counts = {"succeeded": 0, "skipped": 0, "failed": 0, "unfinished": 0, **received}
    return HourActivity(start=NOW - timedelta(hours=3 - i), received=counts, backlog=backlog)


def test_the_chart_stacks_outcomes_and_draws_the_backlog() -> None:
    activity = Activity(
        now=NOW,
        hours=(hour(0, 4, succeeded=3, failed=1), hour(1, 2), hour(2, 9, unfinished=2), hour(3)),
    )
    svg = str(render_svg(activity))
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert svg.count('class="bar bar-succeeded"') == 1 and svg.count('class="bar bar-failed"') == 1
    assert svg.count('class="bar bar-unfinished"') == 1 and "bar-skipped" not in svg
    assert svg.count('<g class="hour">') == 4
    [points] = [p.split('"')[0] for p in svg.split('points="')[1:]]
    assert len(points.split()) == 4
    assert "6 events received in the last 4 hours; backlog now 0" in svg
    assert "3 h ago: received 3 succeeded, 1 failed; backlog 4" in svg
    assert ">10</text>" in svg  # the scale: 9 rounded up to 10
    assert "style=" not in svg and "<script" not in svg  # the CSP allows neither


def test_an_empty_chart_still_draws() -> None:
    svg = str(render_svg(Activity(now=NOW, hours=tuple(hour(i) for i in range(4)))))
    assert "0 events received" in svg and "bar bar-" not in svg and ">1</text>" in svg


def test_template_filters_escape_and_refuse_unsafe_links() -> None:
    assert str(code_spans("set `A<b>` then <i>x</i>")) == (
        "set <code>A&lt;b&gt;</code> then &lt;i&gt;x&lt;/i&gt;"
    )
    assert https_url("https://meet.google.com/abc") == "https://meet.google.com/abc"
    assert https_url("javascript:alert(1)") is None and https_url(None) is None
    assert str(time_tag(NOW)) == (
        '<time datetime="2026-11-25T12:30:00Z">2026-11-25 12:30:00 UTC</time>'
    )
    args = MultiDict([("status", "failed"), ("status", "retrying"), ("provider", "hubspot")])
    assert with_query(args, status=None) == "?provider=hubspot"
    assert with_query(args, cursor=7) == "?status=failed&status=retrying&provider=hubspot&cursor=7"
    assert with_query(MultiDict()) == ""


def test_the_form_reads_presets_and_local_times_in_the_viewers_zone() -> None:
    args = MultiDict(
        [
            ("status", "failed,retrying"),
            ("provider", "hubspot"),
            ("deal_id", " "),
            ("created_before", "2026-11-25T10:00"),
            ("tz", "Europe/Berlin"),
            ("since", "24h"),
        ]
    )
    data = filter_input(args, NOW)
    flt: EventFilter = load(FilterSchema(), data)
    assert flt.statuses == ("failed", "retrying") and flt.provider == "hubspot"
    assert flt.deal_id is None
    assert flt.created_after == NOW - timedelta(hours=24)
    assert flt.created_before == datetime(2026, 11, 25, 9, 0, tzinfo=UTC)  # 10:00 in Berlin
    # an explicit offset wins over the zone, and no zone means UTC
    explicit = filter_input(MultiDict([("created_after", "2026-11-25T10:00:00Z")]), NOW)
    assert explicit["created_after"] == "2026-11-25T10:00:00+00:00"
    utc = filter_input(MultiDict([("created_after", "2026-11-25T10:00")]), NOW)
    assert utc["created_after"] == "2026-11-25T10:00:00+00:00"
    # the confirmation form repeats the loaded filter with absolute times
    assert list(filter_fields(flt).items(multi=True)) == [
        ("status", "failed"),
        ("status", "retrying"),
        ("provider", "hubspot"),
        ("created_after", "2026-11-24T12:30:00Z"),
        ("created_before", "2026-11-25T09:00:00Z"),
    ]


@pytest.mark.parametrize(
    "args,word",
    [
        ([("since", "forever")], "since"),
        ([("tz", "Nowhere/City")], "tz"),
        ([("created_before", "tomorrow")], "created_before"),
    ],
)
def test_bad_form_values_say_which_field(args: list[tuple[str, str]], word: str) -> None:
    with pytest.raises(InputError, match=word):
        filter_input(MultiDict(args), NOW)
