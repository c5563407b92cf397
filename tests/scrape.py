"""Reading Prometheus text in tests: one sample's value by name and labels."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a scrape: ``(name, labels)`` → value."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(text: str, name: str, **labels: str) -> float:
    """The sample ``name{labels}``; 0 when absent (a counter not yet incremented)."""
    return samples(text).get((name, frozenset(labels.items())), 0.0)


def total(text: str, name: str, **labels: str) -> float:
    """The sum of ``name`` over every label set that includes ``labels``."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples(text).items() if n == name and wanted <= ls)


def label_values(text: str) -> set[str]:
    """Every label name and value of a scrape (to prove no deal id or email is a label)."""
    return {
        part
        for family in text_string_to_metric_families(text)
        for s in family.samples
        for item in s.labels.items()
        for part in item
    }
