"""The generated HubSpot project: valid by HubSpot's documented shape, and exactly what we use."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from middleware.cli import cli
from middleware.crm.hubspot import project
from middleware.rules import HubSpotRules
from tests.builders import SHIPPED_RULES
from tests.crm.hubspot_project_schema import project_errors

WEBHOOKS = project.WEBHOOKS_FILE
APP = project.APP_FILE


def build(
    rules: HubSpotRules | None = None, url: str = "https://hooks.example.com", **kw: Any
) -> dict[str, dict[str, Any]]:
    kw.setdefault("web_workers", 2)
    kw.setdefault("web_threads", 4)
    return project.build_project(rules or HubSpotRules(), url, **kw)


def subscriptions(files: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return files[WEBHOOKS]["config"]["subscriptions"]["crmObjects"]  # type: ignore[no-any-return]


# --- the schema -----------------------------------------------------------------------------


def test_generated_project_is_valid() -> None:
    files = build(support_email="ops@example.com")
    assert sorted(files) == [project.PROJECT_FILE, APP, WEBHOOKS]
    assert project_errors(files) == []
    # What the CLI writes parses back to the same documents.
    assert {p: json.loads(project.render(d)) for p, d in files.items()} == files


def _broken(change: Any) -> list[str]:
    files = copy.deepcopy(build())
    change(files)
    return project_errors(files)


def test_schema_rejects_objectname_instead_of_objecttype() -> None:
    def change(files: dict[str, Any]) -> None:
        sub = subscriptions(files)[0]
        sub["objectName"] = sub.pop("objectType")

    errors = _broken(change)
    assert any("objectType" in e for e in errors) and any("objectName" in e for e in errors)


def test_schema_rejects_missing_target_url() -> None:
    errors = _broken(lambda f: f[WEBHOOKS]["config"]["settings"].pop("targetUrl"))
    assert any("'targetUrl' is a required property" in e for e in errors)


def test_schema_rejects_static_auth_with_redirect_urls() -> None:
    errors = _broken(
        lambda f: f[APP]["config"]["auth"].update(redirectUrls=["https://x.example.com/cb"])
    )
    assert len(errors) == 1 and errors[0].startswith(f"{APP}: config/auth:")
    assert "redirectUrls" in errors[0]


def test_schema_rejects_static_auth_with_marketplace_distribution() -> None:
    errors = _broken(lambda f: f[APP]["config"].update(distribution="marketplace"))
    assert any("distribution" in e for e in errors)


def test_layout_rejects_file_names_without_hsmeta_suffix() -> None:
    def change(files: dict[str, Any]) -> None:
        files["src/app/webhooks/webhooks.json"] = files.pop(WEBHOOKS)

    assert _broken(change) == [
        "src/app/webhooks/webhooks.json: a component's config file must end with -hsmeta.json"
    ]


@pytest.mark.parametrize(
    "change",
    [
        lambda f: f.update({"src/app/hooks/webhooks-hsmeta.json": f.pop(WEBHOOKS)}),
        lambda f: f[WEBHOOKS].update(uid=f[APP]["uid"]),
        lambda f: f[WEBHOOKS]["config"]["settings"].update(maxConcurrentRequests=11),
        lambda f: f[WEBHOOKS]["config"]["settings"].update(targetUrl="http://x.example.com/h"),
        lambda f: subscriptions(f)[0].pop("propertyName"),
        lambda f: f.pop(APP),
        lambda f: f[project.PROJECT_FILE].pop("platformVersion"),
    ],
    ids=[
        "wrong-folder",
        "same-uid",
        "concurrency-11",
        "http",
        "no-property",
        "no-app",
        "no-version",
    ],
)
def test_schema_rejects_other_broken_projects(change: Any) -> None:
    assert _broken(change) != []


# --- what the service uses ------------------------------------------------------------------


def test_scopes_are_exactly_what_the_service_calls() -> None:
    auth = build()[APP]["config"]["auth"]
    assert auth == {
        "type": "static",
        "requiredScopes": [
            "crm.objects.contacts.read",
            "crm.objects.deals.read",
            "crm.objects.deals.write",
            "crm.objects.owners.read",
            "oauth",
        ],
        "optionalScopes": [],
        "conditionallyRequiredScopes": [],
    }
    assert build()[APP]["config"]["distribution"] == "private"


def test_subscriptions_follow_the_rules_start_property() -> None:
    files = build(HubSpotRules(start_property="meeting_at"))
    assert subscriptions(files) == [
        {
            "subscriptionType": "object.propertyChange",
            "objectType": "deal",
            "propertyName": p,
            "active": True,
        }
        for p in ("dealstage", "hubspot_owner_id", "meeting_at")
    ] + [{"subscriptionType": "object.deletion", "objectType": "deal", "active": True}]
    assert project_errors(files) == []


def test_target_url_and_output_are_deterministic() -> None:
    first = build(url="https://hooks.example.com:8443/")
    assert first[WEBHOOKS]["config"]["settings"]["targetUrl"] == (
        "https://hooks.example.com:8443/webhooks/hubspot"
    )
    again = build(url="https://hooks.example.com:8443/")
    assert [project.render(d) for d in first.values()] == [
        project.render(d) for d in again.values()
    ]
    assert first[APP]["uid"] == "crm_to_google_meet"
    assert first[WEBHOOKS]["uid"] == "crm_to_google_meet_webhooks"


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com",
        "hooks.example.com",
        "https://hooks.example.com/webhooks/hubspot",
        "https://hooks.example.com/?x=1",
        "https://user@hooks.example.com",
        "https://",
    ],
)
def test_only_an_https_origin_is_accepted(url: str) -> None:
    with pytest.raises(ValueError, match=r"^public URL .*https") as exc:
        build(url=url)
    assert "\n" not in str(exc.value)


@pytest.mark.parametrize(
    ("workers", "threads", "expected"), [(1, 1, 1), (2, 4, 8), (1, 10, 10), (4, 8, 10)]
)
def test_max_concurrent_requests_bound(workers: int, threads: int, expected: int) -> None:
    files = build(web_workers=workers, web_threads=threads)
    assert files[WEBHOOKS]["config"]["settings"]["maxConcurrentRequests"] == expected


def test_unsubscribable_start_property_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot send changes"):
        build(HubSpotRules(start_property="hs_lastmodifieddate"))


# --- the command ----------------------------------------------------------------------------


@pytest.fixture
def env(make_env: Any) -> dict[str, str]:
    rules = SHIPPED_RULES.replace(
        'start_property = "demo_start_time"', 'start_property = "demo_at"'
    )
    assert rules != SHIPPED_RULES
    return make_env(rules, WEB_CONCURRENCY="1", WEB_THREADS="3")  # type: ignore[no-any-return]


def run(env: dict[str, str], *args: str) -> Any:
    return CliRunner().invoke(cli, ["hubspot-project", *args], env=env, catch_exceptions=False)


def read_project(out: Path) -> dict[str, Any]:
    return {str(p.relative_to(out)): json.loads(p.read_text()) for p in out.rglob("*.json")}


def test_cli_writes_a_valid_project(env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "proj"
    result = run(
        env, "--url", "https://hooks.example.com", "--out", str(out), "--name", "Acme demos"
    )
    assert result.exit_code == 0, result.output
    files = read_project(out)
    assert project_errors(files) == []
    assert files["hsproject.json"]["name"] == "Acme demos"
    assert files[APP]["uid"] == "acme_demos"
    settings = files[WEBHOOKS]["config"]["settings"]
    assert settings == {
        "targetUrl": "https://hooks.example.com/webhooks/hubspot",
        "maxConcurrentRequests": 3,
    }
    assert "demo_at" in {s.get("propertyName") for s in subscriptions(files)}
    for step in (
        "hs project upload",
        "hs project install-app",
        "HUBSPOT_ACCESS_TOKEN",
        "HUBSPOT_CLIENT_SECRET",
    ):
        assert step in result.output


def test_cli_url_defaults_to_public_base_url(env: dict[str, str], tmp_path: Path) -> None:
    env["PUBLIC_BASE_URL"] = "https://public.example.com"
    assert run(env, "--out", str(tmp_path / "p")).exit_code == 0
    files = read_project(tmp_path / "p")
    assert files[WEBHOOKS]["config"]["settings"]["targetUrl"] == (
        "https://public.example.com/webhooks/hubspot"
    )


def test_cli_refuses_to_overwrite_a_different_project(env: dict[str, str], tmp_path: Path) -> None:
    out = str(tmp_path / "proj")
    assert run(env, "--url", "https://a.example.com", "--out", out).exit_code == 0
    # The same project again is fine (nothing differs).
    assert run(env, "--url", "https://a.example.com", "--out", out).exit_code == 0
    refused = run(env, "--url", "https://b.example.com", "--out", out)
    assert refused.exit_code == 1
    assert refused.output.count("\n") == 1 and "--force" in refused.output
    assert "a.example.com" in (tmp_path / "proj" / WEBHOOKS).read_text()
    forced = run(env, "--url", "https://b.example.com", "--out", out, "--force")
    assert forced.exit_code == 0
    assert "b.example.com" in (tmp_path / "proj" / WEBHOOKS).read_text()


@pytest.mark.parametrize("url", ["http://hooks.example.com", "https://hooks.example.com/path"])
def test_cli_bad_url_is_one_line(env: dict[str, str], tmp_path: Path, url: str) -> None:
    result = run(env, "--url", url, "--out", str(tmp_path / "p"))
    assert result.exit_code == 2
    assert result.output.startswith("error: public URL") and result.output.count("\n") == 1
    assert not (tmp_path / "p").exists()


def test_cli_without_any_url_says_how(env: dict[str, str], tmp_path: Path) -> None:
    result = run(env, "--out", str(tmp_path / "p"))
    assert result.exit_code == 2 and "--url https://YOUR-HOST" in result.output
    assert result.output.count("\n") == 1
