"""Tests that keep the docs honest: the README's commands, options and routes exist."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from tessera.cli import parser
from tessera.settings import Settings, load_settings
from tessera.transports.web.routes import API, api_routes

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def subcommands() -> dict[str, argparse.ArgumentParser]:
    for action in parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    raise AssertionError("no subcommands")


def test_readme_gives_the_two_commands_and_the_makefile_has_them() -> None:
    assert "make demo" in README
    assert "make test" in README
    makefile = (ROOT / "Makefile").read_text()
    for target in ("demo", "test", "bench", "lint"):
        assert re.search(rf"^{target}:", makefile, re.M), target
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_every_command_line_in_the_readme_parses() -> None:
    commands = subcommands()
    block = README.split("## Command line", 1)[1].split("```", 2)[1]
    lines = [line.strip() for line in block.splitlines() if line.strip().startswith("tessera")]
    assert lines
    for line in lines:
        words = line.split()
        sub = commands[words[1]]
        # Commands with actions of their own (tessera users add ...): descend into them.
        for action in sub._actions:
            if isinstance(action, argparse._SubParsersAction) and words[2] in action.choices:
                sub = action.choices[words[2]]
        known = {option for action in sub._actions for option in action.option_strings}
        for option in re.findall(r"--[a-z-]+", line):
            assert option in known, f"{line}: {option}"


def test_every_route_in_the_readme_exists_and_every_route_is_in_the_readme() -> None:
    table = README.split("## API summary", 1)[1].split("\n\n", 2)[1]

    def shape(path: str) -> str:
        return re.sub(r"\{[^}]*\}", "{}", path)

    documented = {shape(path) for path in re.findall(r"`(?:GET|POST|WS) (/[^` ]*)`", table)}
    served = {shape(route.path.removeprefix(API)) for route in api_routes()}  # type: ignore[attr-defined]
    assert documented == served


def test_readme_shows_the_screenshots_the_browser_tests_make() -> None:
    for name in (
        "screenshot.png",
        "screenshot-nato.png",
        "screenshot-ukr.png",
        "screenshot-overlays.png",
        "screenshot-measure.png",
        "screenshot-night.png",
    ):
        assert f"docs/{name}" in README
        assert (ROOT / "docs" / name).exists()


def test_the_readme_settings_example_loads(tmp_path: Path) -> None:
    example = README.split("```toml", 1)[1].split("```", 1)[0]
    path = tmp_path / "tessera.toml"
    path.write_text(example)
    settings = load_settings(path)
    assert [picture.name for picture in settings.pictures] == ["COP", "REL-UKR"]


def test_the_deployment_page_names_real_settings_and_tests() -> None:
    page = (ROOT / "docs" / "deployment.md").read_text()
    for path in re.findall(r"`(tests/[\w/]+\.py)`", page):
        assert (ROOT / path).is_file(), path
    toml = page.split("```toml", 1)[1].split("```", 1)[0]
    fields = set(Settings.__struct_fields__)
    for key in re.findall(r"^(\w+) =", toml, re.M):
        assert key in fields, key
    for key in re.findall(r"`(\w+_replicas|lease_ttl_s|journal_stream|changes_stream)`", page):
        assert key in fields, key


def test_the_threat_model_names_real_tests_and_settings() -> None:
    page = (ROOT / "docs" / "threat-model.md").read_text()
    named = re.findall(r"`(tests/[\w/]+\.py)(?:::(\w+))?`", page)
    assert len(named) >= 10
    for path, test in named:
        source = (ROOT / path).read_text()
        assert not test or f"def {test}(" in source, f"{path}::{test}"
    fields = set(Settings.__struct_fields__)
    for key in ("trusted_proxies", "http_header_timeout_s"):
        assert key in page and key in fields, key
    assert "docs/threat-model.md" in README
