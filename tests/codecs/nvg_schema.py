"""Validating NVG against the NVG 2.0.2 schema (../shared/data/schemas/nvg-2.0), as the
systems that take Tessera's exports do. Every test that produces an NVG export checks it
with ``assert_valid_nvg``.

The schema's ``nvg.types.2.0.xsd`` is included by a relative path and resolved from the
same folder; the parser reads no network and no DTD.
"""

from __future__ import annotations

import functools

from lxml import etree

from tests.codecs.cot_samples import require_data_dir


@functools.cache
def _nvg_schema(path: str) -> etree.XMLSchema:
    parser = etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False)
    return etree.XMLSchema(etree.parse(path, parser))


def nvg_schema() -> etree.XMLSchema:
    path = require_data_dir() / "schemas" / "nvg-2.0" / "nvg.data.2.0.xsd"
    return _nvg_schema(str(path))


def assert_valid_nvg(data: bytes) -> None:
    """Fails, naming each violation and its line, unless ``data`` is valid NVG 2.0.2."""
    schema = nvg_schema()
    document = etree.fromstring(data, etree.XMLParser(no_network=True, resolve_entities=False))
    if not schema.validate(document):
        problems = str(schema.error_log)  # one violation a line, with its line number
        raise AssertionError(f"not valid NVG 2.0.2:\n{problems}")
