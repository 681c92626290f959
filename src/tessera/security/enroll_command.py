"""``tessera certs enroll-token`` and ``tessera certs qr``: enrolling TAK clients without
carrying a data package to them.

``enroll-token NAME --principal P`` makes a one-time token for the TAK enrollment port
(``tak_enrollment_port``, 8446): a client signing in there with user name NAME and the
token as its password gets a client certificate named NAME for P, recorded as ``certs
client`` records one. The token is printed once (or written to ``--token-file``), stored
only as its hash, and good once, until ``--ttl`` runs out.

``qr --host HOST`` prints the QR payloads TAK clients scan, and writes them as PNG:
ATAK's quick-connect enrollment link ``tak://com.atakmap.app/enroll?host=...&username=
...&token=...`` (ATAK 5.1 and later; ``host`` may carry ``:PORT`` for a CoT port other
than 8089, and ATAK enrolls on 8446 of the same host), and iTAK's quick connect,
``DESCRIPTION,HOST,PORT,ssl`` (iTAK then asks for the user name and token, and enrolls).
"""

from __future__ import annotations

import argparse
import io
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final
from urllib.parse import urlencode

import segno

from tessera.core.durations import parse_duration
from tessera.core.model import PRINCIPAL_PATTERN
from tessera.security import enrollment
from tessera.security.base import SecurityStore, UnknownPrincipalError
from tessera.security.commandkit import (
    CommandError,
    action_parser,
    admin_event,
    existing,
    iso,
    with_store,
)
from tessera.security.tls import write_file

DEFAULT_COT_TLS_PORT: Final = 8089
# A scanned code is a secret when it carries a token: error correction M keeps it small
# enough for a phone to read off a laptop screen.
QR_ERROR: Final = "m"
QR_SCALE: Final = 8


def duration(text: str) -> timedelta:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_enrollment_actions(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    token = action_parser(
        actions, "enroll-token", _enroll_token, "a one-time token to enroll a TAK client with"
    )
    token.add_argument("name", help="the certificate's name, and the user name to enroll with")
    token.add_argument("--principal", required=True, help="the principal it stands for")
    token.add_argument(
        "--ttl",
        type=duration,
        default=enrollment.DEFAULT_TTL,
        help="how long the token is good for (default 24h; 30m, 7d, or seconds)",
    )
    token.add_argument(
        "--token-file",
        type=Path,
        default=None,
        help="write the token to this new file (mode 0600) instead of printing it",
    )

    qr = actions.add_parser("qr", help="QR codes for ATAK and iTAK to connect and enroll")
    qr.set_defaults(action_handler=_qr)
    qr.add_argument("--host", required=True, help="the server's name or IPv4 address")
    qr.add_argument("--port", type=int, default=DEFAULT_COT_TLS_PORT, help="CoT TLS port")
    qr.add_argument("--name", default=None, help="the user name (enroll-token's NAME)")
    secret = qr.add_mutually_exclusive_group()
    secret.add_argument("--token", default=None, help="the enrollment token")
    secret.add_argument("--token-file", type=Path, default=None, help="read the token here")
    qr.add_argument("--description", default="Tessera", help="the server's name on iTAK")
    qr.add_argument("--png", type=Path, default=None, help="write ATAK's enrollment QR here")
    qr.add_argument("--itak-png", type=Path, default=None, help="write iTAK's QR here")


# -- certs enroll-token ----------------------------------------------------------------


def _enroll_token(args: argparse.Namespace) -> int:
    name = args.name
    if not re.fullmatch(PRINCIPAL_PATTERN, name):
        raise CommandError(
            f"a certificate name is 1-64 lowercase letters, digits and . _ @ -, starting "
            f"with a letter or digit; got {name!r}"
        )
    if args.token_file is not None and args.token_file.exists():
        raise CommandError(f"{args.token_file} already exists: not overwriting it")
    now = datetime.now(UTC)
    issued = enrollment.issue_token(name, args.principal, now, args.ttl)
    detail = {"principal": args.principal, "expires_at": iso(issued.record.expires_at)}

    async def store_token(store: SecurityStore) -> None:
        principal = await store.principal(args.principal)
        if principal is None:
            raise UnknownPrincipalError(f"no principal named {args.principal!r}")
        if principal.disabled:
            raise CommandError(f"{args.principal} is disabled: enable it first")
        if any(record.name == name for record in await store.certificates()):
            raise CommandError(f"a certificate named {name!r} exists: choose another name")
        await store.add_enrollment(issued.record)
        await store.append_audit([admin_event("enrollment.token", name, now, detail)])

    with_store(existing(args.data), store_token, args.config)
    if args.token_file is not None:
        write_file(args.token_file, f"{issued.secret}\n".encode())
    else:
        # Alone on stdout so a script can capture it; everything else goes to stderr.
        print(issued.secret, flush=True)
    where = "printed above" if args.token_file is None else f"in {args.token_file}"
    print(
        f"enrollment token for {name} ({args.principal}) {where}, good once until "
        f"{iso(issued.record.expires_at)}: on the TAK client, user name {name} and the "
        "token as password, with enrollment on (tessera certs qr makes the QR codes)",
        file=sys.stderr,
    )
    return 0


# -- certs qr --------------------------------------------------------------------------


def atak_enrollment(host: str, port: int, name: str, token: str) -> str:
    """ATAK's quick-connect enrollment link (ATAK then enrolls on 8446 of ``host``)."""
    where = host if port == DEFAULT_COT_TLS_PORT else f"{host}:{port}"
    return "tak://com.atakmap.app/enroll?" + urlencode(
        {"host": where, "username": name, "token": token}
    )


def itak_quick_connect(description: str, host: str, port: int) -> str:
    """iTAK's quick connect: four comma-separated fields, no quoting."""
    for what, value in (("description", description), ("host", host)):
        if not value or "," in value or any(c in value for c in "\r\n"):
            raise CommandError(f"iTAK's QR cannot carry a {what} of {value!r} (no commas)")
    return f"{description},{host},{port},ssl"


def qr_png(payload: str) -> bytes:
    """The payload as a QR code in PNG."""
    buffer = io.BytesIO()
    segno.make(payload, error=QR_ERROR, micro=False).save(buffer, kind="png", scale=QR_SCALE)
    return buffer.getvalue()


def _qr(args: argparse.Namespace) -> int:
    if not 0 < args.port < 65536:
        raise CommandError(f"--port {args.port} is not 1-65535")
    if ":" in args.host or not args.host.strip():
        raise CommandError(f"--host {args.host!r}: a name or an IPv4 address")
    token = args.token
    if args.token_file is not None:
        try:
            token = args.token_file.read_text().strip()
        except OSError as exc:
            raise CommandError(f"cannot read {args.token_file}: {exc}") from None
    if (token is None) != (args.name is None):
        raise CommandError("--name and --token (or --token-file) go together")
    if args.png is not None and token is None:
        raise CommandError("--png is ATAK's enrollment QR: it needs --name and --token")
    itak = itak_quick_connect(args.description, args.host, args.port)
    print(f"itak {itak}")
    if token is not None:
        atak = atak_enrollment(args.host, args.port, args.name, token)
        print(f"atak {atak}")
        if args.png is not None:
            _write_png(args.png, atak)
    if args.itak_png is not None:
        _write_png(args.itak_png, itak)
    return 0


def _write_png(path: Path, payload: str) -> None:
    # Owner-only, new: an enrollment QR is as secret as its token.
    write_file(path, qr_png(payload))
