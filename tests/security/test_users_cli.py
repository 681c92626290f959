"""``tessera users`` and ``tessera audit`` as an administrator uses them."""

from __future__ import annotations

import asyncio
import json
import shlex
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tessera.cli import main
from tessera.security import tokens
from tessera.security.base import AuditEvent, TokenRecord
from tessera.security.sqlite import SqliteSecurityStore, security_store_path


class Cli:
    """Runs ``tessera`` in-process, as an administrator named ``tester``."""

    def __init__(self, data: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.data = data
        self.capsys = capsys

    def __call__(self, *argv: str) -> tuple[int, str, str]:
        code = main([*argv, "--data", str(self.data)])
        out, err = self.capsys.readouterr()
        return code, out, err

    def ok(self, *argv: str) -> str:
        code, out, err = self(*argv)
        assert code == 0, err
        return out

    def issue(self, name: str, *options: str) -> str:
        token = self.ok("users", "token", name, *options)
        assert token.endswith("\n") and token.count("\n") == 1
        return token.strip()


@pytest.fixture
def cli(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.setattr("getpass.getuser", lambda: "tester")
    return Cli(tmp_path / "data", capsys)


def stored_tokens(data: Path) -> list[TokenRecord]:
    async def read() -> list[TokenRecord]:
        store = SqliteSecurityStore(security_store_path(data))
        await store.open()
        try:
            return await store.tokens()
        finally:
            await store.close()

    return asyncio.run(read())


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def test_add_then_list(cli: Cli) -> None:
    out = cli.ok(
        *shlex.split(
            "users add alice --communities NATO,UKR --clearance SECRET --roles viewer,reporter "
            "--default-label RESTRICTED:UKR"
        )
    )
    assert "alice" in out
    cli.ok("users", "add", "feeder", "--kind", "system")
    table = cli.ok("users", "list").splitlines()
    assert " ".join(table[0].split()) == "NAME KIND CLEARANCE COMMUNITIES ROLES DISABLED TOKENS"
    assert table[1].split() == ["alice", "user", "SECRET", "NATO,UKR", "viewer,reporter", "no", "0"]
    assert table[2].split() == ["feeder", "system", "UNCLASSIFIED", "-", "viewer", "no", "0"]
    alice, feeder = json_lines(cli.ok("users", "list", "--json"))
    assert alice["default_label"] == {"classification": "RESTRICTED", "releasable_to": ["UKR"]}
    assert alice["roles"] == ["viewer", "reporter"]
    assert (feeder["name"], feeder["usable_tokens"], feeder["disabled"]) == ("feeder", 0, False)


def test_levels_come_from_the_settings_file(cli: Cli, tmp_path: Path) -> None:
    config = tmp_path / "tessera.toml"
    config.write_text('levels = ["OFFEN", "VS-NFD", "GEHEIM"]\n')
    cli.ok("users", "add", "anna", "--config", str(config))
    cli.ok("users", "add", "berta", "--config", str(config), "--clearance", "GEHEIM")
    code, _, err = cli("users", "add", "carla", "--clearance", "GEHEIM")
    assert code == 2 and "'GEHEIM' is not one of the levels" in err
    rows = json_lines(cli.ok("users", "list", "--json"))
    assert [row["clearance"] for row in rows] == ["OFFEN", "GEHEIM"]


def test_a_token_is_shown_once_and_stored_only_as_a_hash(cli: Cli) -> None:
    cli.ok("users", "add", "alice")
    code, out, err = cli("users", "token", "alice", "--days", "7")
    assert code == 0
    token = out.strip()
    parsed = tokens.parse(token)
    assert parsed is not None and out == token + "\n"
    token_id, secret = parsed
    assert token_id in err and "shown once: it is not stored" in err
    assert secret not in err

    (record,) = stored_tokens(cli.data)
    assert record.id == token_id and tokens.matches(record, secret)
    assert record.expires_at is not None
    assert record.expires_at - record.created_at == timedelta(days=7)
    for stored in cli.data.iterdir():
        assert secret.encode() not in stored.read_bytes(), stored
    listed = cli.ok("users", "tokens", "alice") + cli.ok("audit")
    assert token_id in listed
    assert secret not in listed and record.secret_hash not in listed


def test_token_expiry_defaults_to_thirty_days_or_none(cli: Cli) -> None:
    cli.ok("users", "add", "alice")
    cli.issue("alice")
    cli.issue("alice", "--no-expiry")
    default, lasting = stored_tokens(cli.data)
    assert default.expires_at is not None
    assert default.expires_at - default.created_at == timedelta(days=30)
    assert lasting.expires_at is None
    rows = cli.ok("users", "tokens").splitlines()
    assert rows[0].split() == ["ID", "PRINCIPAL", "CREATED", "EXPIRES", "REVOKED"]
    assert rows[2].split()[3:] == ["never", "-"]
    assert json_lines(cli.ok("users", "list", "--json"))[0]["usable_tokens"] == 2


def test_revoke(cli: Cli) -> None:
    cli.ok("users", "add", "alice")
    token_id = tokens.token_id(cli.issue("alice"))
    assert token_id is not None
    assert "revoked" in cli.ok("users", "revoke", token_id)
    assert "already revoked" in cli.ok("users", "revoke", token_id)
    (record,) = stored_tokens(cli.data)
    assert record.revoked_at is not None and not record.usable(datetime.now(UTC))
    assert json_lines(cli.ok("users", "list", "--json"))[0]["usable_tokens"] == 0
    row = cli.ok("users", "tokens").splitlines()[1].split()
    assert row[0] == token_id and row[-1] != "-"


def test_disable_refuses_new_tokens_until_enabled(cli: Cli) -> None:
    cli.ok("users", "add", "alice")
    cli.ok("users", "disable", "alice")
    assert cli.ok("users", "list").splitlines()[1].split()[-2] == "yes"
    code, out, err = cli("users", "token", "alice")
    assert code == 2 and out == "" and "disabled" in err
    assert stored_tokens(cli.data) == []
    cli.ok("users", "disable", "alice", "--enable")
    assert cli.ok("users", "list").splitlines()[1].split()[-2] == "no"
    cli.issue("alice")


def test_audit_lists_the_cli_changes(cli: Cli) -> None:
    cli.ok("users", "add", "alice", "--clearance", "SECRET")
    token = cli.issue("alice")
    token_id = tokens.token_id(token)
    cli.ok("users", "revoke", str(token_id))
    cli.ok("users", "disable", "alice")
    cli.ok("users", "disable", "alice", "--enable")
    events = json_lines(cli.ok("audit", "--json"))
    assert [(e["action"], e["target"]) for e in events] == [
        ("principal.add", "alice"),
        ("token.issue", token_id),
        ("token.revoke", token_id),
        ("principal.disable", "alice"),
        ("principal.enable", "alice"),
    ]
    assert {(e["principal"], e["address"], e["outcome"]) for e in events} == {
        ("cli:tester", "local", "ok")
    }
    assert events[0]["detail"]["clearance"] == "SECRET"
    lines = cli.ok("audit").splitlines()
    assert len(lines) == 5
    assert lines[1].split()[1:6] == ["cli:tester", "token.issue", "ok", str(token_id), "local"]
    assert token not in "\n".join(lines)
    assert len(cli.ok("audit", "--limit", "2").splitlines()) == 2
    assert cli.ok("audit", "--since", "2999-01-01T00:00:00Z") == ""
    assert len(cli.ok("audit", "--since", "2000-01-01").splitlines()) == 5


def append_events(data: Path, events: list[AuditEvent]) -> None:
    """Events as the server writes them, beside the command's own."""

    async def write() -> None:
        store = SqliteSecurityStore(security_store_path(data))
        await store.open()
        try:
            await store.append_audit(events)
        finally:
            await store.close()

    asyncio.run(write())


def test_audit_filters_by_action_principal_outcome_and_time(cli: Cli) -> None:
    cli.ok("users", "add", "alice")
    cli.ok("users", "add", "bob")
    cli.issue("alice")
    cli.ok("users", "disable", "bob")
    start = datetime(2001, 5, 4, 9, 0, tzinfo=UTC)
    append_events(
        cli.data,
        [
            AuditEvent(at=start, principal="alice", action="tracks.read", outcome="denied"),
            AuditEvent(at=start + timedelta(hours=1), principal="alice", action="export"),
            AuditEvent(
                at=start + timedelta(hours=2), principal="alice", action="export", outcome="denied"
            ),
        ],
    )

    def actions(*argv: str) -> list[tuple[str, str]]:
        events = json_lines(cli.ok("audit", "--json", *argv))
        return [(e["action"], e["outcome"]) for e in events]

    assert actions("--action", "principal.") == [
        ("principal.add", "ok"),
        ("principal.add", "ok"),
        ("principal.disable", "ok"),
    ]
    assert actions("--action", "token.issue") == [("token.issue", "ok")]
    assert actions("--principal", "alice", "--outcome", "denied") == [
        ("tracks.read", "denied"),
        ("export", "denied"),
    ]
    assert actions("--action", "export", "--outcome", "ok") == [("export", "ok")]
    # Since is inclusive, until exclusive; a time without a zone is UTC.
    window = ("--since", "2001-05-04T10:00:00Z", "--until", "2001-05-04T11:00:00")
    assert actions(*window) == [("export", "ok")]
    assert actions("--until", "2001-05-04T09:00:00Z") == []
    assert actions("--principal", "alice", "--limit", "1") == [("tracks.read", "denied")]
    assert len(cli.ok("audit", "--principal", "cli:tester").splitlines()) == 4


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--outcome", "maybe"], "invalid choice: 'maybe'"),
        (["--action", ""], "must be 1 to 200 printable characters"),
        (["--principal", "a\tb"], "must be 1 to 200 printable characters"),
    ],
)
def test_audit_refuses_a_bad_filter(
    cli: Cli, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    cli.ok("users", "add", "alice")
    with pytest.raises(SystemExit) as exited:
        main(["audit", "--data", str(cli.data), *argv])
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


def test_the_cli_works_while_the_server_holds_the_store(cli: Cli) -> None:
    server = SqliteSecurityStore(security_store_path(cli.data))
    asyncio.run(server.open())
    try:
        cli.ok("users", "add", "alice")
        token = tokens.parse(cli.issue("alice"))
        assert token is not None
        record = asyncio.run(server.token(token[0]))
        assert record is not None and tokens.matches(record, token[1])
    finally:
        asyncio.run(server.close())


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["users", "add", "Alice"], "principal name"),
        (["users", "add", "bob"], "already exists"),
        (["users", "add", "carol", "--clearance", "TOP"], "'TOP' is not one of the levels"),
        (["users", "add", "carol", "--default-label", "SECRET"], "above your clearance"),
        (["users", "add", "carol", "--default-label", "BOGUS"], "'BOGUS' is not one of"),
        (
            [
                "users",
                "add",
                "carol",
                "--communities",
                "NATO",
                "--default-label",
                "UNCLASSIFIED:UKR",
            ],
            "none of which you belong to",
        ),
        (["users", "add", "carol", "--communities", "nato"], "communities"),
        (["users", "add", "carol", "--roles", "viewer,god"], "unknown role 'god'"),
        (["users", "add", "carol", "--roles", ""], "at least one role"),
        (["users", "token", "nobody"], "no principal named 'nobody'"),
        (["users", "disable", "nobody"], "no principal named 'nobody'"),
        (["users", "tokens", "nobody"], "no principal named 'nobody'"),
        (["users", "revoke", "0123456789abcdef"], "no token"),
        (["audit", "--since", "last tuesday"], "not an ISO 8601 time"),
        (["audit", "--until", "soon"], "not an ISO 8601 time"),
        (
            ["audit", "--since", "2026-05-04T10:00:00Z", "--until", "2026-05-04T09:00:00Z"],
            "--until must be later than --since",
        ),
    ],
)
def test_bad_input_is_a_clear_error(cli: Cli, argv: list[str], message: str) -> None:
    cli.ok("users", "add", "bob")
    code, out, err = cli(*argv)
    assert code == 2
    assert err.startswith("tessera: ") and message in err, err
    assert "Traceback" not in err and out == ""


def test_a_missing_data_folder_is_an_error_except_to_add(cli: Cli) -> None:
    for argv in (["users", "list"], ["users", "tokens"], ["audit"]):
        code, _, err = cli(*argv)
        assert code == 2 and err == f"tessera: no data folder at {cli.data}\n"
    assert not cli.data.exists()
    cli.ok("users", "add", "alice")
    assert security_store_path(cli.data).is_file()
