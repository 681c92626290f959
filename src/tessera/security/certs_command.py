"""``tessera certs``: the deployment's CA, the server's certificate, and client
certificates for TAK clients (ATAK, WinTAK, iTAK, pytak) with a data package each.

Files live in ``DATA/certs/``, readable by their owner only (with ``postgis_dsn`` the CA
itself is the deployment's, in PostgreSQL: ``certs_deployment``); certificates are recorded in
the security store, which is how the server maps a presented certificate to its principal
and refuses a revoked one. A client's .p12 password is printed once (or written to the
file the operator names), never put in its data package. Every change is written to the
audit trail, as ``tessera users`` does. Bad input raises ValueError, which ``tessera.cli``
prints as ``tessera: <message>``.
"""

from __future__ import annotations

import argparse
import re
import secrets
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import msgspec
from cryptography import x509

from tessera.core.model import ID_PATTERN, PRINCIPAL_PATTERN
from tessera.security import certs, tak_package
from tessera.security.base import (
    CertificateRecord,
    SecurityStore,
    UnknownCertificateError,
    UnknownPrincipalError,
)
from tessera.security.certs_deployment import deployment_dsn, init_shared, publish_crl, read_ca
from tessera.security.commandkit import (
    CommandError,
    action_parser,
    admin_event,
    existing,
    iso,
    json_line,
    optional_iso,
    positive_int,
    print_table,
    run_action,
    with_store,
)
from tessera.security.enroll_command import add_enrollment_actions
from tessera.security.tls import (
    CA_FILE,
    CA_KEY_FILE,
    CRL_FILE,
    DEFAULT_HOSTS,
    DEPLOYMENT_FILES,
    SERVER_CERT_FILE,
    SERVER_DAYS,
    certs_dir,
    create_deployment,
    crl_pem,
    write_file,
)

DEFAULT_COT_TLS_PORT: Final = 8089
CLIENT_DAYS: Final = 365
PASSWORD_BYTES: Final = 18


def add_certs_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="certs_command", required=True, metavar="ACTION")

    init = action_parser(actions, "init", _init, "create the CA and the server's certificate")
    init.add_argument(
        "--host",
        action="append",
        default=None,
        help="a name or address clients connect to (repeat; default 127.0.0.1 and localhost)",
    )
    init.add_argument(
        "--days",
        type=positive_int,
        default=SERVER_DAYS,
        help=f"the server certificate's validity (default {SERVER_DAYS}; the CA's is 10 years)",
    )
    init.add_argument("--force", action="store_true", help="replace an existing CA")

    client = action_parser(
        actions, "client", _client, "issue a client certificate and data package"
    )
    client.description = (
        "Issue a client certificate for a TAK client and write its data package. The .p12 "
        "password is printed once on standard output (or written to --password-file) and "
        "is in no file of the package: hand it over apart; the device's user types it in "
        "when importing or in the server connection's settings."
    )
    client.add_argument("name", help="the certificate's name: lowercase letters, digits, . _ @ -")
    client.add_argument("--principal", required=True, help="the principal it stands for")
    client.add_argument(
        "--days", type=positive_int, default=CLIENT_DAYS, help=f"validity (default {CLIENT_DAYS})"
    )
    client.add_argument("--host", default=None, help="default: the server certificate's first")
    client.add_argument("--port", type=positive_int, default=DEFAULT_COT_TLS_PORT)
    client.add_argument("--out", type=Path, default=None, help="the data package (.zip)")
    client.add_argument("--itak", action="store_true", help="a flat package, as iTAK imports")
    client.add_argument(
        "--uid",
        default=None,
        help=(
            "the TAK uid the client reports its own position as (default: the first it "
            "reports); no other certificate may then report as it"
        ),
    )
    client.add_argument(
        "--password-file",
        type=Path,
        default=None,
        help="write the .p12 password to this new file (mode 0600) instead of printing it",
    )

    revoke = action_parser(actions, "revoke", _revoke, "revoke a client certificate by its name")
    revoke.add_argument("name")

    listing = action_parser(actions, "list", _list, "list the client certificates")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    add_enrollment_actions(actions)


def run_certs(args: argparse.Namespace) -> int:
    return run_action(args)


# -- certs init ------------------------------------------------------------------------


def _init(args: argparse.Namespace) -> int:
    directory = certs_dir(args.data)
    dsn = deployment_dsn(args.data, args.config)
    found = [name for name in DEPLOYMENT_FILES if (directory / name).exists()]
    if found and not args.force and dsn is None:
        raise CommandError(
            f"a CA already exists in {directory} ({', '.join(found)}); --force replaces it, "
            "and every client certificate it issued stops working"
        )
    hosts = args.host or list(DEFAULT_HOSTS)
    now = datetime.now(UTC)
    if dsn is None:
        ca, server = create_deployment(directory, hosts, now, args.days, replace=args.force)
    else:
        # The deployment's CA (made now if new): this folder gets a server certificate of
        # its own, signed by it; --force makes the deployment a new CA.
        ca, server, made = init_shared(directory, dsn, hosts, now, args.days, force=args.force)
        print(f"{'made' if made else 'using'} the deployment's CA in PostgreSQL")
    detail = {
        "ca": ca.certificate.subject.rfc4514_string(),
        "ca_fingerprint": certs.certificate_fingerprint(ca.certificate),
        "hosts": hosts,
        "server_fingerprint": certs.certificate_fingerprint(server.certificate),
        "replaced": args.force,
    }
    replaced = _void_old_certificates(args.data, now, args.config) if args.force else []

    async def record(store: SecurityStore) -> None:
        await store.append_audit([admin_event("certs.init", detail["ca"], now, detail)])

    with_store(args.data, record, args.config)
    key = "in PostgreSQL" if dsn else directory / CA_KEY_FILE
    print(f"CA {detail['ca']}: {directory / CA_FILE} (key {key})")
    print(f"server certificate for {', '.join(hosts)}: {directory / SERVER_CERT_FILE}")
    print(f"CA fingerprint (SHA-256) {detail['ca_fingerprint']}")
    if replaced:
        print(f"revoked {len(replaced)} certificates of the replaced CA: {', '.join(replaced)}")
    return 0


def _void_old_certificates(data: Path, now: datetime, config: Path | None) -> list[str]:
    """A new CA voids what the old one issued; the store says so, so `list` is true."""

    async def revoke_all(store: SecurityStore) -> list[str]:
        names = [r.name for r in await store.certificates() if r.revoked_at is None]
        for name in names:
            record = await store.revoke_certificate(name, now)
            detail = {"principal": record.principal, "reason": "CA replaced"}
            await store.append_audit([admin_event("certificate.revoke", name, now, detail)])
        return names

    return with_store(data, revoke_all, config) if data.is_dir() else []


# -- certs client ----------------------------------------------------------------------


def _client(args: argparse.Namespace) -> int:
    name = args.name
    if not re.fullmatch(PRINCIPAL_PATTERN, name):
        raise CommandError(
            f"a certificate name is 1-64 lowercase letters, digits and . _ @ -, starting "
            f"with a letter or digit; got {name!r}"
        )
    directory = certs_dir(existing(args.data))
    now = datetime.now(UTC)
    ca = read_ca(directory, deployment_dsn(args.data, args.config), now)
    server_hosts = _server_hosts(directory)
    if args.host is None and not server_hosts:
        raise CommandError(f"no server certificate naming a host in {directory}: give --host")
    connection = tak_package.Connection(host=args.host or server_hosts[0], port=args.port)
    files = _client_files(directory, name, args.out)
    if args.password_file is not None and args.password_file.exists():
        raise CommandError(f"{args.password_file} already exists: not overwriting it")
    if args.uid is not None and not re.fullmatch(ID_PATTERN, args.uid):
        raise CommandError(
            f"--uid: {args.uid!r} is not a uid Tessera keeps (letters, digits and . _ : @ -)"
        )
    issued = certs.issue_client_cert(ca, name, args.principal, now, args.days)
    record = _record_of(name, args.principal, issued.certificate, now)
    password = secrets.token_urlsafe(PASSWORD_BYTES)
    if args.itak:
        package = tak_package.itak_package(connection, ca.certificate, issued, name, password)
    else:
        package = tak_package.data_package(
            files["package"].name, connection, ca.certificate, issued, name, password
        )
    detail = {
        "principal": args.principal,
        "serial": record.serial,
        "fingerprint": record.fingerprint,
        "expires_at": iso(record.expires_at),
        "connect": connection.connect_string,
    }
    if args.uid is not None:
        detail["uid"] = args.uid

    async def store_certificate(store: SecurityStore) -> None:
        await _require_enabled(store, args.principal)
        if args.uid is not None and await store.uid_holder(args.uid) is not None:
            raise CommandError(f"--uid: {args.uid!r} is bound to another certificate")
        await store.add_certificate(record)
        if args.uid is not None:
            await store.bind_certificate_uid(record.fingerprint, args.uid, now)
        await store.append_audit([admin_event("certificate.issue", name, now, detail)])

    # Recorded before any file is written: a name already taken refuses before it could
    # overwrite anything, and every file written belongs to a known certificate.
    with_store(directory.parent, store_certificate, args.config)
    if args.password_file is not None:
        # First: if it cannot be written, no file opens with a password nobody has.
        try:
            write_file(args.password_file, f"{password}\n".encode())
        except OSError as exc:
            raise CommandError(
                f"cannot write {args.password_file}: {exc}; revoke {name} and issue again"
            ) from exc
    write_file(files["key"], certs.key_pem(issued.key))
    write_file(files["certificate"], certs.certificate_pem(issued.certificate))
    write_file(files["pkcs12"], certs.pkcs12(issued, ca.certificate, password, name))
    write_file(files["package"], package)
    if args.password_file is None:
        # Alone on stdout so a script can capture it; everything else goes to stderr.
        print(password, flush=True)
    _report_client(record, connection, directory, files, args.password_file)
    if connection.host not in server_hosts:
        print(
            f"warning: the server certificate is not for {connection.host}; clients may "
            "refuse it (tessera certs init --force --host ... issues one that is)",
            file=sys.stderr,
        )
    return 0


def _server_hosts(directory: Path) -> list[str]:
    """The hosts the server's certificate is for; a client connects to one of them."""
    try:
        server = x509.load_pem_x509_certificate((directory / SERVER_CERT_FILE).read_bytes())
    except FileNotFoundError:
        return []
    return certs.host_names(server)


def _client_files(directory: Path, name: str, package: Path | None) -> dict[str, Path]:
    clients = directory / "clients"
    files = {
        "certificate": clients / f"{name}.pem",
        "key": clients / f"{name}.key",
        "pkcs12": clients / f"{name}.p12",
        "package": package or clients / f"{name}.zip",
    }
    for path in files.values():
        if path.exists():
            raise CommandError(f"{path} already exists: not overwriting it")
    return files


async def _require_enabled(store: SecurityStore, name: str) -> None:
    principal = await store.principal(name)
    if principal is None:
        raise UnknownPrincipalError(f"no principal named {name!r}")
    if principal.disabled:
        raise CommandError(f"{name} is disabled: enable it before issuing a certificate")


def _record_of(
    name: str, principal: str, certificate: x509.Certificate, now: datetime
) -> CertificateRecord:
    return CertificateRecord(
        name=name,
        principal=principal,
        serial=str(certificate.serial_number),
        fingerprint=certs.certificate_fingerprint(certificate),
        issued_at=now,
        expires_at=certificate.not_valid_after_utc,
    )


def _report_client(
    record: CertificateRecord,
    connection: tak_package.Connection,
    directory: Path,
    files: dict[str, Path],
    password_file: Path | None,
) -> None:
    where = "printed above" if password_file is None else f"in {password_file}"
    lines = [
        f"certificate {record.name} for {record.principal}, expires {iso(record.expires_at)}",
        f"  data package (import it in ATAK, WinTAK or iTAK): {files['package']}",
        f"  connects to {connection.connect_string}",
        f"  certificate {files['certificate']}, key {files['key']}",
        f"  PKCS#12 {files['pkcs12']}; CA {directory / CA_FILE}",
        f"the password {where} opens the client's PKCS#12 (the one beside the package and "
        "the one in it); it is not in the package: give it to the device's user apart, "
        "who types it in when the client asks for it",
    ]
    print("\n".join(lines), file=sys.stderr)


# -- certs revoke, list ----------------------------------------------------------------


def _revoke(args: argparse.Namespace) -> int:
    directory = certs_dir(existing(args.data))
    now = datetime.now(UTC)
    dsn = deployment_dsn(args.data, args.config)
    ca = read_ca(directory, dsn, now)

    async def revoke(store: SecurityStore) -> tuple[CertificateRecord, bool, list[certs.Revoked]]:
        before = {r.name: r for r in await store.certificates()}.get(args.name)
        if before is None:
            raise UnknownCertificateError(f"no certificate named {args.name!r}")
        record = await store.revoke_certificate(args.name, now)
        already = before.revoked_at is not None
        detail = {"principal": record.principal, "serial": record.serial, "already": already}
        await store.append_audit([admin_event("certificate.revoke", record.name, now, detail)])
        revoked = [
            certs.Revoked(int(r.serial), r.revoked_at)
            for r in await store.certificates()
            if r.revoked_at is not None
        ]
        return record, already, revoked

    record, already, revoked = with_store(directory.parent, revoke, args.config)
    publish_crl(directory, dsn, crl_pem(ca, revoked, now), now)
    if already:
        print(f"{record.name} was already revoked at {optional_iso(record.revoked_at)}")
    else:
        print(f"revoked certificate {record.name} of {record.principal}")
    print(f"CRL of {len(revoked)} revoked certificates: {directory / CRL_FILE}")
    return 0


def _list(args: argparse.Namespace) -> int:
    async def read(store: SecurityStore) -> list[tuple[CertificateRecord, str | None]]:
        return [
            (record, await store.certificate_uid(record.fingerprint))
            for record in await store.certificates()
        ]

    listed = with_store(existing(args.data), read, args.config)
    records = [record for record, _ in listed]
    uids = {record.name: uid for record, uid in listed}
    if args.json:
        for record in records:
            print(json_line({**msgspec.to_builtins(record), "uid": uids[record.name]}))
        return 0
    now = datetime.now(UTC)
    rows = [
        [
            record.name,
            record.principal,
            _status(record, now),
            iso(record.expires_at),
            record.fingerprint[:16],
            uids[record.name] or "-",
        ]
        for record in records
    ]
    print_table(["NAME", "PRINCIPAL", "STATUS", "EXPIRES", "FINGERPRINT", "TAK UID"], rows)
    return 0


def _status(record: CertificateRecord, now: datetime) -> str:
    if record.revoked_at is not None:
        return "revoked"
    return "valid" if record.usable(now) else "expired"
