"""A KML or KMZ file as an element tree, for the readers of its overlays (`kml_read`) and
its tracks (`kml_tracks`): the KMZ unzipped within limits (a zip bomb is refused before it
is inflated), the hardened parse CoT uses (`cot_safe_xml`: no DTD, no entities, no
network, size and depth limits), the root checked, and the element helpers both share.
Pure: no I/O.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from typing import Final

from lxml import etree

from tessera.codecs.cot_model import CotError
from tessera.codecs.cot_safe_xml import parse_document

MAX_BYTES: Final = 16 * 1024 * 1024
MAX_DEPTH: Final = 64
MAX_ENTRIES: Final = 1_000
# KML 2.2 and the Google Earth namespaces before it; an unqualified file is read too.
KML_NAMESPACES: Final = frozenset(
    {
        "",
        "http://www.opengis.net/kml/2.2",
        "http://earth.google.com/kml/2.0",
        "http://earth.google.com/kml/2.1",
        "http://earth.google.com/kml/2.2",
    }
)


class KmlError(ValueError):
    """A KML or KMZ file that cannot be accepted; the message says what and where."""


def kml_root(data: bytes, *, max_bytes: int = MAX_BYTES) -> etree._Element:
    """The ``<kml>`` root of a KML or KMZ file, parsed with the hardened parser."""
    if data.startswith(b"PK"):
        data = kml_from_kmz(data, max_bytes=max_bytes)
    try:
        root = parse_document(data, max_bytes=max_bytes, max_depth=MAX_DEPTH)
    except CotError as exc:
        raise KmlError(str(exc)) from None
    if local(root) != "kml" or not is_kml(root):
        raise KmlError(f"document: the root element is <{local(root)}>, not KML's <kml>")
    return root


def kml_from_kmz(data: bytes, *, max_bytes: int = MAX_BYTES) -> bytes:
    """The first ``.kml`` entry of a KMZ, refusing archives too many or too large to open."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
            if len(entries) > MAX_ENTRIES:
                raise KmlError(f"kmz: more than {MAX_ENTRIES} entries")
            if sum(entry.file_size for entry in entries) > 4 * max_bytes:
                raise KmlError(f"kmz: more than {4 * max_bytes} bytes uncompressed")
            entry = next((e for e in entries if e.filename.lower().endswith(".kml")), None)
            if entry is None:
                raise KmlError("kmz: no .kml entry")
            if entry.file_size > max_bytes:
                raise KmlError(f"kmz: {entry.filename}: larger than {max_bytes} bytes")
            with archive.open(entry) as stream:
                # Read one byte past the limit: a header that lies about the size is caught.
                kml = stream.read(max_bytes + 1)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError) as exc:
        raise KmlError(f"kmz: not a readable zip archive ({exc})") from None
    except (RuntimeError, NotImplementedError, OSError, ValueError) as exc:
        if isinstance(exc, KmlError):
            raise
        raise KmlError(f"kmz: cannot open the archive ({exc})") from None
    if len(kml) > max_bytes:
        raise KmlError(f"kmz: {entry.filename}: larger than {max_bytes} bytes")
    return kml


def child(parent: etree._Element, name: str) -> etree._Element | None:
    """The first KML child element called ``name``."""
    return next((item for item in parent if local(item) == name and is_kml(item)), None)


def local(element: etree._Element) -> str:
    tag = element.tag
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def is_kml(element: etree._Element) -> bool:
    tag = element.tag
    return isinstance(tag, str) and (etree.QName(tag).namespace or "") in KML_NAMESPACES


def line_of(element: etree._Element) -> int | None:
    # (lxml-stubs type sourceline wrongly; it is an int, or None for a built tree.)
    line: object = element.sourceline
    return line if isinstance(line, int) else None
