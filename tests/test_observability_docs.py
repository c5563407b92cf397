"""The README's metric table, the example alerts and the Grafana dashboard name real metrics."""

from __future__ import annotations

import json
import re

from prometheus_client.metrics import MetricWrapperBase

from middleware import metrics
from middleware.store import Store
from middleware.web.metrics import StoreCollector
from tests.builders import REPO

SUFFIXES = ("_total", "_bucket", "_count", "_sum", "_created")


def declared(store: Store) -> set[str]:
    names = {m._name for m in vars(metrics).values() if isinstance(m, MetricWrapperBase)} | {
        g._name for g in metrics.worker_gauges()
    }
    names |= {family.name for family in StoreCollector(store).collect()}
    return {n if not isinstance(n, str) or not n.endswith("_total") else n[:-6] for n in names}


def base(name: str) -> str:
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def test_every_metric_is_in_the_readme_table(sqlite_store: Store) -> None:
    section = (REPO / "README.md").read_text().split("## Metrics and logs", 1)[1]
    table = section.split("**Example alerts**", 1)[0]
    rows = {base(n) for n in re.findall(r"`(middleware_[a-z_]+)`", table)}
    names = declared(sqlite_store)
    assert len(names) >= 20
    assert sorted(names - rows) == [] and sorted(rows - names) == []


def test_alerts_and_dashboard_use_only_real_metrics(sqlite_store: Store) -> None:
    names = declared(sqlite_store)
    alerts = (REPO / "deploy" / "prometheus-alerts.yml").read_text()
    for alert in ("MiddlewareFailedEvents", "MiddlewareBacklogOld", "MiddlewareGoogleRefusals"):
        assert f"alert: {alert}" in alerts
    dashboard = json.loads((REPO / "deploy" / "grafana-dashboard.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    assert len(dashboard["panels"]) >= 8 and dashboard["uid"]
    used = {base(n) for n in re.findall(r"\bmiddleware_[a-z_]+", alerts + "\n".join(exprs))}
    assert used and sorted(used - names) == []
    readme = (REPO / "README.md").read_text()
    assert "deploy/grafana-dashboard.json" in readme and "deploy/prometheus-alerts.yml" in readme
