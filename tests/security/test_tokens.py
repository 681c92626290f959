"""Bearer tokens: their shape, their check, and that the secret never leaks into a repr."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tessera.core.model import PRINCIPAL_PATTERN
from tessera.security import tokens

NOW = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


def test_an_issued_token_parses_back_to_its_record() -> None:
    expires = NOW + timedelta(days=30)
    issued = tokens.issue("alice", now=NOW, expires_at=expires)
    record = issued.record
    assert (record.principal, record.created_at, record.expires_at) == ("alice", NOW, expires)
    assert record.revoked_at is None
    assert issued.token.startswith(tokens.PREFIX)
    parsed = tokens.parse(issued.token)
    assert parsed is not None
    token_id, secret = parsed
    assert token_id == record.id == tokens.token_id(issued.token)
    assert tokens.matches(record, secret)
    assert record.secret_hash == tokens.hash_secret(secret)
    assert secret not in record.secret_hash


def test_tokens_are_distinct() -> None:
    issued = [tokens.issue("alice", now=NOW, expires_at=None) for _ in range(50)]
    assert len({token.record.id for token in issued}) == 50
    assert len({token.token for token in issued}) == 50


def test_a_wrong_secret_does_not_match() -> None:
    issued = tokens.issue("alice", now=NOW, expires_at=None)
    other = tokens.issue("alice", now=NOW, expires_at=None)
    parsed = tokens.parse(other.token)
    assert parsed is not None
    assert not tokens.matches(issued.record, parsed[1])
    assert not tokens.matches(issued.record, "")


GOOD = "tsr_0123456789abcdef_" + "A" * 43


@pytest.mark.parametrize(
    "text",
    [
        "",
        "tsr_",
        "tsr__",
        GOOD.replace("tsr_", "tsx_"),
        GOOD.replace("tsr_", "TSR_"),
        GOOD.replace("0123456789abcdef", "0123456789ABCDEF"),
        GOOD.replace("0123456789abcdef", "0123456789abcde"),
        GOOD[:-1],
        GOOD + "A",
        GOOD + " ",
        " " + GOOD,
        GOOD.replace("A", "+", 1),
        GOOD.replace("A", "=", 1),
        "Bearer " + GOOD,
    ],
)
def test_malformed_tokens_do_not_parse(text: str) -> None:
    assert tokens.parse(text) is None
    assert tokens.token_id(text) is None


def test_a_well_formed_token_parses() -> None:
    assert tokens.parse(GOOD) == ("0123456789abcdef", "A" * 43)


@given(st.text())
def test_parse_never_raises_on_any_text(text: str) -> None:
    parsed = tokens.parse(text)
    if parsed is not None:
        token_id, secret = parsed
        assert len(token_id) == 16 and len(secret) == 43


@given(st.text().map(lambda tail: "tsr_" + tail))
def test_parse_never_raises_on_text_that_looks_like_a_token(text: str) -> None:
    tokens.parse(text)


@given(
    name=st.from_regex(PRINCIPAL_PATTERN, fullmatch=True),
    days=st.none() | st.integers(min_value=1, max_value=3650),
)
def test_no_repr_holds_the_secret(name: str, days: int | None) -> None:
    expires = None if days is None else NOW + timedelta(days=days)
    issued = tokens.issue(name, now=NOW, expires_at=expires)
    parsed = tokens.parse(issued.token)
    assert parsed is not None
    secret = parsed[1]
    for shown in (repr(issued), str(issued), repr(issued.record), str(issued.record)):
        assert secret not in shown
        assert issued.token not in shown
