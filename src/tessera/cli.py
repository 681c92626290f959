"""The ``tessera`` command (DESIGN §9): serve, demo, simulate, fuse, score, users,
sources, certs, audit, export, import, passes, migrate."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from tessera import __version__
from tessera.arguments import positive

if TYPE_CHECKING:
    from tessera.settings import Settings

# The server, its settings and the web stack are imported by the commands that use them:
# `tessera fuse` (parsed on its own, below) starts in a fraction of the time without them.


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError("a port is 0-65535 (0 picks a free one)")
    return value


def _add_server_options(parser: argparse.ArgumentParser, *, data_required: bool) -> None:
    parser.add_argument("--data", type=Path, required=data_required, help="data folder")
    parser.add_argument("--host", default=None, help="address to bind (default 127.0.0.1)")
    parser.add_argument("--http-port", type=_port, default=None, help="HTTP port (default 8080)")
    parser.add_argument(
        "--cot-tls-port", type=_port, default=None, help="CoT over TLS for TAK clients (8089)"
    )
    parser.add_argument(
        "--tak-enrollment-port",
        type=_port,
        default=None,
        help="the TAK enrollment API over HTTPS (8446; with the CoT TLS port only)",
    )
    parser.add_argument(
        "--cot-port",
        type=_port,
        default=None,
        help="CoT over plain TCP (off unless given; needs cot_tcp_principal in the settings)",
    )
    parser.add_argument("--config", type=Path, default=None, help="settings file (TOML)")
    parser.add_argument("--log-level", default="info", help="logging level (default info)")


def _settings(args: argparse.Namespace, data: Path) -> Settings:
    from tessera.settings import load_settings

    return load_settings(
        args.config,
        data_dir=data,
        host=args.host,
        http_port=args.http_port,
        cot_tls_port=args.cot_tls_port,
        tak_enrollment_port=args.tak_enrollment_port,
        cot_tcp_port=args.cot_port,
        http_tls=getattr(args, "http_tls", None),
        role=getattr(args, "role", None),
        fusion_pictures=_names(getattr(args, "pictures", None)),
    )


def _names(text: str | None) -> list[str] | None:
    if text is None:
        return None
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise ValueError("--pictures needs at least one picture name")
    return names


def _serve(args: argparse.Namespace) -> int:
    import asyncio

    from tessera.app import build
    from tessera.server import serve_until_stopped

    settings = _settings(args, args.data)
    if settings.role == "fusion":
        from tessera.cluster.fusion_role import run_fusion

        return asyncio.run(run_fusion(settings))
    asyncio.run(serve_until_stopped(build(settings)))
    return 0


def _demo(args: argparse.Namespace) -> int:
    import asyncio
    import tempfile

    import msgspec

    from tessera.app import build
    from tessera.security.demo import DEMO_PICTURES, FEED, demo_tokens
    from tessera.server import serve_until_stopped
    from tessera.settings import load_settings
    from tessera.sim.commands import feed_live, terminal_progress
    from tessera.sim.sensor_feeds import demo_feeds, free_port, run_sensor_feeds

    data = args.data or Path(tempfile.mkdtemp(prefix="tessera-demo-"))
    # The demo's two audiences, unless a settings file says otherwise.
    pictures = None if args.config else msgspec.to_builtins(DEMO_PICTURES)
    # And its sensor feeds (AIS, ADS-B, a drone), simulated on loopback.
    sbs_port = free_port()
    feeds = None if args.config else demo_feeds(sbs_port)
    settings = load_settings(
        args.config,
        data_dir=data,
        host=args.host,
        http_port=args.http_port,
        cot_tls_port=args.cot_tls_port,
        tak_enrollment_port=args.tak_enrollment_port,
        cot_tcp_port=args.cot_port,
        pictures=pictures,
        feeds=feeds,
    )
    if settings.https:
        # The exercise feed posts to the server over plain HTTP.
        raise ValueError("tessera demo serves plain HTTP: leave http_tls out of its settings")
    print(f"demo data folder: {data}", file=sys.stderr, flush=True)
    tessera = build(settings)

    async def feed(url: str) -> None:
        issued = await demo_tokens(tessera.security, tessera.clock())
        for name, token in issued.items():
            if name != FEED:
                # The token rides in the fragment: browsers never send it to the server.
                print(f"login {name} {url}/#token={token}", flush=True)
        print("sign in with one of the login links above", file=sys.stderr, flush=True)
        print(f"exercise running: seed {args.seed}, {args.rate:g} reports/s", file=sys.stderr)

        def port(name: str) -> int | None:
            status = tessera.feeds.feeds.get(name)
            return None if status is None or status.bound is None else status.bound[1]

        sensors = asyncio.create_task(run_sensor_feeds(port, sbs_port, args.seed))
        try:
            await feed_live(
                url,
                scenario="exercise",
                seed=args.seed,
                rate=args.rate,
                duration=None,
                on_progress=terminal_progress(),
                token=issued[FEED],
            )
        finally:
            sensors.cancel()

    asyncio.run(serve_until_stopped(tessera, on_ready=feed))
    return 0


def _simulate(args: argparse.Namespace) -> int:
    from tessera.sim.commands import run

    return run(args)


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(
        prog="tessera", description="Live, fused common operational picture per audience."
    )
    main.add_argument("--version", action="version", version=f"tessera {__version__}")
    commands = main.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the server")
    _add_server_options(serve, data_required=True)
    serve.add_argument(
        "--http-tls",
        action="store_true",
        default=None,
        help="HTTPS for the map and the API (the data folder's certificate, unless the "
        "settings name another)",
    )
    serve.add_argument(
        "--role",
        choices=("all", "gateway", "fusion"),
        default=None,
        help="all in one process (default), a gateway, or a fusion worker (scale-out)",
    )
    serve.add_argument(
        "--pictures",
        default=None,
        metavar="NAME,...",
        help="with --role fusion: the pictures this worker fuses (default: all)",
    )
    serve.set_defaults(handler=_serve)

    demo = commands.add_parser("demo", help="run the server with the live exercise feeding it")
    _add_server_options(demo, data_required=False)
    demo.add_argument("--seed", type=int, default=1, help="scenario seed (default 1)")
    demo.add_argument("--rate", type=positive, default=200.0, help="reports per second")
    demo.set_defaults(handler=_demo)

    simulate = commands.add_parser(
        "simulate", help="feed a server, or write files, from a scenario"
    )
    from tessera.sim.commands import add_arguments

    add_arguments(simulate)
    simulate.set_defaults(handler=_simulate)

    from tessera.batchfuse import command as fuse_command

    fuse = commands.add_parser("fuse", help="fuse a file of reports into picture snapshots")
    fuse_command.add_arguments(fuse)
    fuse.set_defaults(handler=fuse_command.run)

    from tessera.scoring import command as score_command

    score = commands.add_parser("score", help="score picture snapshots against ground truth")
    score_command.add_arguments(score)
    score.set_defaults(handler=score_command.run)

    from tessera.security import audit_command, certs_command
    from tessera.security import commands as security_commands

    users = commands.add_parser("users", help="manage principals and their tokens")
    security_commands.add_users_arguments(users)
    users.set_defaults(handler=security_commands.run_users)

    certs = commands.add_parser("certs", help="manage the CA and TAK client certificates")
    certs_command.add_certs_arguments(certs)
    certs.set_defaults(handler=certs_command.run_certs)

    from tessera.security import sources_command

    sources = commands.add_parser(
        "sources", help="manage which principal may report as which source ids"
    )
    sources_command.add_sources_arguments(sources)
    sources.set_defaults(handler=sources_command.run_sources)

    audit = commands.add_parser("audit", help="print the audit trail, oldest first")
    audit_command.add_audit_arguments(audit)
    audit.set_defaults(handler=audit_command.run_audit)

    from tessera.exchange import export_command

    export = commands.add_parser(
        "export", help="download a picture as an NVG, GeoJSON, KML or KMZ file"
    )
    export_command.add_arguments(export)
    export.set_defaults(handler=export_command.run)

    from tessera.exchange import import_command

    imported = commands.add_parser(
        "import", help="send an NVG, KML, KMZ or CoT file to a server: reports and overlays"
    )
    import_command.add_arguments(imported)
    imported.set_defaults(handler=import_command.run)

    from tessera.space import command as passes_command

    passes = commands.add_parser(
        "passes", help="satellite passes over a place, from TLE or OMM element set files"
    )
    passes_command.add_arguments(passes)
    passes.set_defaults(handler=passes_command.run)

    from tessera.postgis import command as migrate_command

    migrate = commands.add_parser(
        "migrate", help="bring the PostGIS store's schema up to date (safe to run again)"
    )
    migrate_command.add_arguments(migrate)
    migrate.set_defaults(handler=migrate_command.run)
    return main


def _batch_parser(command: str) -> argparse.ArgumentParser | None:
    """The parser of a batch command alone, so that running it imports nothing of the
    other commands (None for any other command: the whole parser is built)."""
    if command == "fuse":
        from tessera.batchfuse import command as fuse_command

        fuse = argparse.ArgumentParser(prog="tessera fuse")
        fuse_command.add_arguments(fuse)
        fuse.set_defaults(handler=fuse_command.run)
        return fuse
    return None


def _server_exit_code(exc: Exception) -> int | None:
    """The exit code of a server failure; None for anything else. Only a command that
    imported the server can raise one."""
    server = sys.modules.get("tessera.server")
    if server is None:
        return None
    if isinstance(exc, server.BindError):
        return 2
    if isinstance(exc, server.FusionFailedError):
        return 1
    return None


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    batch = _batch_parser(arguments[0]) if arguments else None
    args = (batch or parser()).parse_args(arguments[1:] if batch else arguments)
    logging.basicConfig(
        level=getattr(args, "log_level", "warning").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # One line per request would drown what matters.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        code = handler(args)
    except ValueError as exc:
        print(f"tessera: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # Output piped into something that stopped reading (head): not an error.
        sys.stderr.close()
        return 0
    except Exception as exc:
        failed = _server_exit_code(exc)
        if failed is None:
            raise
        print(f"tessera: {exc}", file=sys.stderr)
        return failed
    return code


if __name__ == "__main__":
    sys.exit(main())
