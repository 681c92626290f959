"""One STAC API (stac-fastapi on pgstac) for the imagery tests that search one: started
once per session, each test loading collections of its own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.imagery.stac_server import StacApi, stac_api


@pytest.fixture(scope="session")
def stac_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StacApi]:
    with stac_api(tmp_path_factory.mktemp("stac-api")) as api:
        yield api
