"""The README's TAK server example is a real, valid setting."""

from __future__ import annotations

from pathlib import Path

from tessera.settings import load_settings

README = (Path(__file__).resolve().parents[3] / "README.md").read_text()


def test_the_readme_tak_server_example_loads(tmp_path: Path) -> None:
    section = README.split("## Joining TAK servers", 1)[1].split("\n## ", 1)[0]
    example = section.split("```", 2)[1]
    path = tmp_path / "tessera.toml"
    path.write_text(example)
    settings = load_settings(path)
    (server,) = settings.tak_servers
    assert server.name == "fts-north" and server.scheme == "tls"
    assert server.own_uid == "tessera-fts-north"
