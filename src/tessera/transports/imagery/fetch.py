"""Reading an imagery source: a STAC API searched with pystac-client, a static catalogue
walked with pystac. Blocking (the runner calls these in a thread); what comes back is
plain item dictionaries with the address each resolves its links against, for the pure
mapping (``tessera.codecs.stac``). Any failure is an ``ImageryFetchError`` saying what
went wrong in words an operator can act on."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from tessera.codecs.stac import ItemFilter, StacItemError, item_footprint
from tessera.transports.imagery.config import ImagerySource

# A static catalogue is walked at most this far (items read, matching or not).
MAX_WALKED: Final = 100_000


class ImageryFetchError(RuntimeError):
    """The source could not be read: unreachable, not STAC, or it answered an error."""


@dataclass
class Fetched:
    """What one search found: items (their links absolute), and whether the search
    stopped at ``max_items`` (then what was not found may still exist)."""

    items: list[Mapping[str, Any]] = field(default_factory=list)
    truncated: bool = False


def fetch(source: ImagerySource, window: ItemFilter) -> Fetched:
    """The source's items ``window`` asks for: meeting its areas, within its time and its
    collections."""
    try:
        if source.kind == "stac-api":
            return _search_api(source, window)
        return _walk_static(source, window)
    except ImageryFetchError:
        raise
    except Exception as exc:
        raise ImageryFetchError(_explained(source, exc)) from exc


def _search_api(source: ImagerySource, window: ItemFilter) -> Fetched:
    from pystac_client import Client
    from pystac_client.stac_api_io import StacApiIO

    assert source.url is not None
    # Retried once here; the next interval is the real retry.
    stac_io = StacApiIO(timeout=source.timeout_s, max_retries=1)
    client = Client.open(source.url, stac_io=stac_io)
    if not client.conforms_to("ITEM_SEARCH"):
        raise ImageryFetchError(f"{source.url} is a STAC catalogue without item search")
    fetched = Fetched()
    seen: set[tuple[str | None, str]] = set()
    interval = _interval(window.start, window.end)
    for area in window.areas:
        remaining = source.max_items - len(fetched.items)
        if remaining <= 0:
            fetched.truncated = True
            break
        search = client.search(
            collections=list(source.collections) or None,
            intersects=dict(area),
            datetime=interval,
            max_items=remaining + 1,
            limit=min(remaining + 1, 500),
        )
        for item in search.items_as_dicts():
            key = (item.get("collection"), str(item.get("id")))
            if key in seen:
                continue
            if len(fetched.items) >= source.max_items:
                fetched.truncated = True
                break
            seen.add(key)
            fetched.items.append(item)
    return fetched


def _walk_static(source: ImagerySource, window: ItemFilter) -> Fetched:
    import pystac

    if source.url is not None:
        catalog = pystac.Catalog.from_file(source.url, stac_io=_timed_io(source.timeout_s))
    else:
        catalog = pystac.Catalog.from_file(str(source.path))
    fetched = Fetched()
    for walked, item in enumerate(catalog.get_items(recursive=True)):
        if walked >= MAX_WALKED:
            fetched.truncated = True
            break
        item.make_asset_hrefs_absolute()
        data = item.to_dict(include_self_link=True, transform_hrefs=True)
        try:
            found = item_footprint(data, source=source.name, grading=source.grading)
        except StacItemError:
            # Read again by the runner, which counts it as bad input.
            fetched.items.append(data)
            continue
        if not window.matches(found):
            continue
        if len(fetched.items) >= source.max_items:
            fetched.truncated = True
            break
        fetched.items.append(data)
    return fetched


def _timed_io(timeout_s: float) -> Any:
    """pystac's reader, but over HTTP with a timeout (its own waits for ever)."""
    import httpx
    from pystac.stac_io import DefaultStacIO

    class TimedStacIO(DefaultStacIO):
        def read_text_from_href(self, href: str) -> str:
            if not href.startswith(("http://", "https://")):
                text: str = super().read_text_from_href(href)
                return text
            answer = httpx.get(href, timeout=timeout_s, follow_redirects=True)
            answer.raise_for_status()
            return answer.text

    return TimedStacIO()


def _interval(start: datetime | None, end: datetime | None) -> str | None:
    if start is None and end is None:
        return None

    def text(moment: datetime | None) -> str:
        return ".." if moment is None else moment.isoformat().replace("+00:00", "Z")

    return f"{text(start)}/{text(end)}"


def _explained(source: ImagerySource, exc: Exception) -> str:
    """The failure as an operator reads it."""
    import httpx
    import requests
    from pystac.errors import STACError, STACTypeError
    from pystac_client.exceptions import APIError

    where = source.address
    unreachable = (
        requests.ConnectionError,
        requests.Timeout,
        httpx.TransportError,
        ConnectionError,
        TimeoutError,
    )
    chain = _chain(exc)
    if any(isinstance(cause, unreachable) for cause in chain):
        # The deepest cause says it plainly: connection refused, timed out, no such host.
        return f"catalogue unreachable at {where}: {_first_line(chain[-1])}"
    if isinstance(exc, APIError | httpx.HTTPStatusError):
        return f"the catalogue at {where} answered an error: {_first_line(exc)}"
    if isinstance(exc, FileNotFoundError):
        return f"no catalogue at {where}"
    if isinstance(exc, OSError):
        return f"catalogue unreadable at {where}: {_first_line(exc)}"
    if isinstance(exc, STACError | STACTypeError | ValueError | KeyError | TypeError):
        return f"not a STAC catalogue at {where}: {_first_line(exc)}"
    return f"reading {where} failed: {type(exc).__name__}: {_first_line(exc)}"


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and what caused it, in turn (as far as ten deep)."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(chain) < 10:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]
