"""Hostile and odd input for the property tests: ids, text, JSON shapes, headers, bodies.

Each strategy mixes values a CRM really sends with values no CRM sends: ids past 2^63, digits
that ``str.isdigit()`` accepts and ``int()`` refuses (``²``) or reads as another number
(``٣``), NUL bytes, lone surrogates, very long strings, deep nesting, floats, booleans.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

MAX_ID = 2**63 - 1
#: HubSpot's ``occurredAt`` bound: epoch milliseconds before year 10000.
MAX_OCCURRED_AT_MS = 253_402_300_800_000

#: Strings that broke, or could break, a parser somewhere.
ODD_STRINGS = [
    "",
    " ",
    "٣",
    "²",
    "²³",
    "１２",
    "0x1f",
    "1e3",
    "5.9",
    " 12 ",
    "+12",
    "-12",
    "012",
    "1_000",
    "12abc",
    "\x00",
    "12\x00",
    "\ud800",
    "ok\udfffok",
    "\u202e",
    "null",
    "9" * 19,
    "9" * 20,
    str(2**63),
    str(2**63 - 1),
    str(2**64),
    "9999-12-31T23:59:59-01:00",
    "0001-01-01T00:00:00+01:00",
    "2026-12-01T10:00:00Z",
    "%00",
    "../../etc/passwd",
    "<script>",
    "'; DROP TABLE events; --",
]

#: Very long strings: past every column, past int()'s 4,300 digits.
long_text = st.tuples(st.sampled_from(["9", "a", "Ω", "\x00"]), st.integers(256, 6000)).map(
    lambda pair: pair[0] * pair[1]
)

#: Characters that a store, a parser or a log line may choke on.
POISON = ["\x00", "\ud800", "\udfff", "²", "٣", "\u202e", "\n", "\r\n", "\x1b[31m", "\ufeff", "🙂"]

#: Ordinary text with a poisoned character somewhere in it.
poisoned_text = st.tuples(st.text(max_size=8), st.sampled_from(POISON), st.text(max_size=8)).map(
    "".join
)

odd_text = st.one_of(
    st.sampled_from(ODD_STRINGS),
    poisoned_text,
    poisoned_text,
    long_text,
    st.text(max_size=40),
    # every code point, lone surrogates included (JSON can carry them as \ud800)
    st.text(st.characters(codec=None, categories=None, exclude_categories=()), max_size=20),
)

odd_numbers = st.one_of(
    st.integers(min_value=-(2**70), max_value=0),
    st.integers(min_value=MAX_ID + 1, max_value=2**200),
    st.sampled_from([0, -1, 2**63, 2**64, 10**30, 10**400, 5.9, 5.0, 1e300, -0.0]),
    st.floats(allow_nan=True, allow_infinity=True),
)

#: Times at the edges of what ``datetime`` holds, with and without an offset.
edge_times = st.one_of(
    st.sampled_from(
        [
            "9999-12-31T23:59:59-01:00",
            "9999-12-31T23:59:59.999999Z",
            "0001-01-01T00:00:00+01:00",
            "0001-01-01T00:00:00",
            "2026-12-01T10:00:00+25:00",
            "2026-02-30T10:00:00Z",
        ]
    ),
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
)

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), odd_text, odd_numbers
)

#: Any JSON value, nested a little.
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.one_of(st.text(max_size=12), st.sampled_from(["value", "id"])), inner, max_size=4
        ),
        st.fixed_dictionaries({"value": inner}),
    ),
    max_leaves=12,
)

good_ids = st.one_of(
    st.integers(min_value=1, max_value=MAX_ID),
    st.integers(min_value=1, max_value=10**9),
    st.integers(min_value=1, max_value=MAX_ID).map(str),
)

#: Ids mostly good, often odd, sometimes anything at all.
ids = st.one_of(good_ids, good_ids, odd_numbers, odd_text, json_values)


class Missing:
    """A field left out of the object."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING = Missing()


@st.composite
def mutated(
    draw: Any,
    good: st.SearchStrategy[dict[str, Any]],
    odd: dict[str, st.SearchStrategy[Any]],
    max_changes: int = 3,
) -> dict[str, Any]:
    """A well-formed object with a few fields (often none) replaced by odd values or left out,
    and sometimes unknown keys added: each example stays close enough to a real payload to
    get past the first check and reach the next one."""
    item = dict(draw(good))
    names = sorted(set(item) | set(odd))
    for name in draw(st.lists(st.sampled_from(names), max_size=max_changes, unique=True)):
        value = draw(st.one_of(st.just(MISSING), odd.get(name, json_values)))
        if value is MISSING:
            item.pop(name, None)
        else:
            item[name] = value
    for key, value in draw(st.dictionaries(st.text(max_size=12), json_values, max_size=2)).items():
        item.setdefault(key, value)
    return item


@st.composite
def one_field_odd(
    draw: Any, good: st.SearchStrategy[dict[str, Any]], path: str, odd: st.SearchStrategy[Any]
) -> dict[str, Any]:
    """A payload the service acts on, with its field at ``path`` (dotted: ``meta.timestamp``)
    made odd or left out: every example attacks one check from behind all the others."""
    item = json.loads(json.dumps(draw(good)))  # a deep copy
    value = draw(st.one_of(odd, odd, odd, st.just(MISSING)))
    *parents, name = path.split(".")
    holder = item
    for parent in parents:
        if not isinstance(holder.get(parent), dict):
            holder[parent] = {}
        holder = holder[parent]
    if value is MISSING:
        holder.pop(name, None)
    else:
        holder[name] = value
    return item


# -- encodings and bodies --------------------------------------------------------------------


def dumps(value: Any) -> bytes:
    """JSON as a client may write it: ``ensure_ascii`` (escapes, lone surrogates included),
    and NaN and Infinity as Python writes them (not JSON, and a signed sender may send them)."""
    return json.dumps(value).encode()


ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-32", "latin-1"]


@st.composite
def encoded(draw: Any, value: Any) -> bytes:
    """``value`` as JSON text in an encoding a client might choose, or raw UTF-8."""
    text = json.dumps(value, ensure_ascii=draw(st.booleans()))
    encoding = draw(st.sampled_from(ENCODINGS))
    return text.encode(encoding, errors="surrogatepass" if "utf" in encoding else "replace")


def deep(depth: int, kind: str = "[") -> bytes:
    """``[[[…]]]`` or ``{"a":{"a":…}}`` nested ``depth`` deep (past the recursion limit)."""
    if kind == "[":
        return b"[" * depth + b"]" * depth
    return b'{"a":' * depth + b"1" + b"}" * depth


odd_bodies = st.one_of(
    st.binary(max_size=200),
    st.sampled_from(
        [
            b"",
            b"null",
            b"[]",
            b"{}",
            b"[1, 2]",
            b'"text"',
            b"NaN",
            b"[" + b"9" * 5000 + b"]",  # past int()'s 4300 digits
            b'[{"objectId": ' + b"9" * 5000 + b"}]",
            b"\xff\xfe\x00",
            b"\xef\xbb\xbf[]",
            deep(100_000),
            deep(100_000, "{"),
            deep(5_000),
        ]
    ),
    json_values.map(dumps),
)

# -- headers ----------------------------------------------------------------------------------


def on_the_wire(value: str) -> str:
    """A header value as a WSGI server hands it over: the bytes sent (UTF-8 here) read as
    Latin-1 (PEP 3333), without the line breaks that would end the header."""
    raw = value.encode("utf-8", errors="surrogatepass").decode("latin-1")
    return raw.replace("\r", "").replace("\n", "")


header_values = st.one_of(
    odd_text, st.sampled_from(["", "v3", "v2", "v1", "application/json"])
).map(on_the_wire)
