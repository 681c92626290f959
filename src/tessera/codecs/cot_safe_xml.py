"""Hardened XML for CoT: untrusted bytes in, an lxml tree or a clean ``CotError`` out.

Refused before parsing: anything over the size limit, a DOCTYPE or ENTITY declaration
(so no entity expansion, internal or external, ever happens) and any processing
instruction but the leading XML declaration. Dropped before parsing: the control
characters XML 1.0 does not allow, raw or as character references, so that a stray one
(a NUL pad, a vertical tab pasted from a word processor) costs that character, not the
whole document. The parser itself resolves no entities, loads no DTD, touches no
network and keeps libxml2's limits on (no ``huge_tree``); after parsing, the depth is
checked. The byte scans are deliberately blunt: ``<?`` or ``<!DOCTYPE`` is refused, and
``&#1;`` dropped, even inside a comment or CDATA, where no CoT sender puts them.
Pure: no I/O.
"""

from __future__ import annotations

import re
from typing import Final

from lxml import etree

from tessera.codecs.cot_model import CotError

_DECLARATION: Final = re.compile(rb"\s*<\?xml(?:\s[^?>]*)?\?>")
_DECLARATION_OR_MARKUP: Final = re.compile(rb"<!(?i:doctype|entity)|<\?")
_BOM: Final = b"\xef\xbb\xbf"
_UTF16_BOMS: Final = (b"\xff\xfe", b"\xfe\xff")
# C0 controls but tab, line feed and carriage return, and U+FFFE/U+FFFF: raw, or as
# decimal or hexadecimal character references. The parser reads UTF-8 only, where these
# bytes are never part of another character.
_NOT_XML_CHARACTERS: Final = re.compile(
    rb"[\x00-\x08\x0b\x0c\x0e-\x1f]|\xef\xbf[\xbe\xbf]"
    rb"|&#(?:0*(?:[0-8]|1[124-9]|2[0-9]|3[01]|6553[45])"
    rb"|[xX]0*(?:[0-8bBcCeEfF]|1[0-9a-fA-F]|[fF]{3}[eEfF]));"
)


def _parser() -> etree.XMLParser:
    # A new parser per document: lxml parsers keep state and are not shared across threads.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_blank_text=False,
        encoding="utf-8",
    )


def parse_document(data: bytes, *, max_bytes: int, max_depth: int) -> etree._Element:
    """The root element of one XML document, after every refusal above."""
    if len(data) > max_bytes:
        raise CotError(f"document: larger than {max_bytes} bytes")
    data = without_illegal_characters(data)
    body = _without_declaration(data.removeprefix(_BOM))
    _refuse_declarations(body)
    root = _parse(data, "document")
    _refuse_processing_instructions(root)
    check_depth(root, max_depth, "document")
    return root


def parse_fragment(xml: str, *, max_bytes: int, max_depth: int, where: str) -> list[etree._Element]:
    """The elements of an XML fragment (a run of sibling elements, e.g. TAK protocol's
    ``xmlDetail``), wrapped for parsing in a ``<detail>`` that is then dropped."""
    encoded = xml.encode("utf-8", "surrogatepass")
    if len(encoded) > max_bytes:
        raise CotError(f"{where}: larger than {max_bytes} bytes")
    encoded = without_illegal_characters(encoded)
    _refuse_declarations(encoded, where)
    root = _parse(b"<detail>" + encoded + b"</detail>", where)
    _refuse_processing_instructions(root, where)
    check_depth(root, max_depth, where)
    if root.text is not None and root.text.strip():
        raise CotError(f"{where}: text outside any element")
    for child in root:
        if child.tail is not None and child.tail.strip():
            raise CotError(f"{where}: text outside any element")
    return list(root)


def without_illegal_characters(data: bytes) -> bytes:
    """UTF-8 XML without the characters XML 1.0 does not allow (see above). UTF-16 and
    UTF-32, which the parser refuses anyway, are left alone: there a NUL byte is half of
    a character."""
    if data[:2] in _UTF16_BOMS or b"\x00" in data[:4]:
        return data
    return _NOT_XML_CHARACTERS.sub(b"", data)


def check_depth(root: etree._Element, max_depth: int, where: str) -> None:
    depth = 0
    for action, _element in etree.iterwalk(root, events=("start", "end")):
        depth += 1 if action == "start" else -1
        if depth > max_depth:
            raise CotError(f"{where}: elements nested deeper than {max_depth} levels")


def canonical_xml(element: etree._Element) -> str:
    """One element as Tessera re-serialises it: indentation between elements dropped,
    attribute order and leaf text kept, double quotes, no declaration, no tail."""
    for node in element.iter():
        if node.text is not None and (not node.text or (len(node) and not node.text.strip())):
            node.text = None
        for child in node:
            if child.tail is not None and not child.tail.strip():
                child.tail = None
    return etree.tostring(element, encoding="unicode", with_tail=False)


def _without_declaration(data: bytes) -> bytes:
    match = _DECLARATION.match(data)
    return data[match.end() :] if match else data


def _refuse_declarations(body: bytes, where: str = "document") -> None:
    match = _DECLARATION_OR_MARKUP.search(body)
    if match is None:
        return
    if match.group().startswith(b"<?"):
        raise CotError(f"{where}: processing instructions are not allowed")
    raise CotError(f"{where}: DOCTYPE and ENTITY declarations are not allowed")


def _parse(data: bytes, where: str) -> etree._Element:
    try:
        return etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise CotError(f"{where}: not well-formed XML ({_first_line(exc)})") from None
    except (etree.LxmlError, ValueError) as exc:
        raise CotError(f"{where}: unreadable XML ({_first_line(exc)})") from None


def _refuse_processing_instructions(root: etree._Element, where: str = "document") -> None:
    # The byte scan catches these first; this is the check on what the parser built.
    outside = [*root.itersiblings(preceding=True), *root.itersiblings()]
    inside = root.iter(etree.PI, etree.Entity)
    if any(isinstance(node, etree._ProcessingInstruction) for node in outside) or any(
        True for _node in inside
    ):
        raise CotError(f"{where}: processing instructions and entities are not allowed")
    # (lxml-stubs lack DocInfo.doctype: "" without a DOCTYPE.)
    if getattr(root.getroottree().docinfo, "doctype", ""):
        raise CotError(f"{where}: DOCTYPE and ENTITY declarations are not allowed")


def _first_line(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text.removesuffix(" (<string>, line 1)")[:200]
