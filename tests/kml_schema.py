"""Every KML Tessera writes is checked against the OGC KML 2.2 schema (with Google's gx
extensions, and the atom and xAL schemas it imports), read from the shared schema folder
in place and never from the network.

`valid_kml` takes a KML document or a KMZ (then its ``doc.kml``) and returns the KML, so a
test checks and reads what it was given in one step.
"""

from __future__ import annotations

import functools
import io
import zipfile
from pathlib import Path
from typing import Final

from lxml import etree

SCHEMAS: Final = Path("/work/shared/data/schemas/kml-2.2")
# ogckml22.xsd imports atom-author-link.xsd, xAL.xsd and kml22gx.xsd by relative
# schemaLocation: all four sit together in the folder, so lxml resolves them there.
ROOT_SCHEMA: Final = SCHEMAS / "ogckml22.xsd"


class _Offline(etree.Resolver):
    """Refuses anything the schemas would fetch from elsewhere: an import missing from the
    folder fails the test instead of reaching the network."""

    # (lxml calls it with a context too; its stubs leave that out.)
    def resolve(self, system_url: str, public_id: str, context: object) -> None:  # type: ignore[override]
        # (None, for anything local: lxml then reads it from the folder as usual.)
        if system_url.startswith(("http:", "https:", "ftp:")):
            raise AssertionError(f"the KML schema wants {system_url}: not in {SCHEMAS}")


@functools.cache
def kml_schema() -> etree.XMLSchema:
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    parser.resolvers.add(_Offline())
    return etree.XMLSchema(etree.parse(str(ROOT_SCHEMA), parser))


def valid_kml(data: bytes) -> bytes:
    """``data`` (KML, or a KMZ's doc.kml) as KML, once it is valid KML 2.2; an
    AssertionError naming every schema error else."""
    if data.startswith(b"PK"):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            data = archive.read("doc.kml")
    schema = kml_schema()
    document = etree.fromstring(data, etree.XMLParser(no_network=True, resolve_entities=False))
    if not schema.validate(document):
        raise AssertionError(f"not valid KML 2.2:\n{schema.error_log}")
    return data
