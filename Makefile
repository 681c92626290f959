# Tessera: every target installs what it needs first, so a fresh machine needs only
# `make demo` or `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.stamp-python-deps
NODE_STAMP := node_modules/.stamp-npm
WEB_STAMP := src/tessera/web/static/vendor/.stamp
CHROMIUM := /usr/bin/chromium
OGRINFO := /usr/bin/ogrinfo
# The font KMZ icons draw symbols' letters with (tessera.codecs.symbol_font).
SYMBOL_FONT := /usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf
# PostGIS for the scale-out store: the running PostgreSQL 15 finds the extension here.
POSTGIS := /usr/share/postgresql/15/extension/postgis.control
IP := /usr/sbin/ip
DEMO_ARGS ?=

.PHONY: demo cluster-demo test lint bench bench-fusion bench-peers bench-federation peers screenshots deps web chromium gdal postgis iproute fonts clean

demo: deps web fonts
	$(BIN)/tessera demo $(DEMO_ARGS)

# Two gateways and two fusion workers (one active, one standby) on the local NATS and
# PostgreSQL, fed the exercise; Ctrl-C stops everything.
cluster-demo: deps web fonts postgis
	$(BIN)/python -m tessera.cluster.demo

test: deps web chromium gdal postgis fonts peers lint
	CI=$${CI:-} $(BIN)/python -m pytest -q

# The README's pictures, taken by the browser tests (which otherwise write elsewhere).
screenshots: deps web chromium fonts
	TESSERA_SCREENSHOTS=$(CURDIR)/docs $(BIN)/python -m pytest -q tests/web

lint: deps
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

# Stone Soup, the fusion baseline, is a benchmark-only extra. `make bench PEERS=1` also
# measures the peer servers (as bench-peers does) and writes them into the same page.
bench: deps web $(if $(PEERS),peers)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[bench]'
	$(BIN)/python benchmarks/run.py $(if $(PEERS),--peers)

# Tessera against FreeTAKServer, OpenTAKServer and pygeoapi on the same load (about ten
# minutes); the figures go into BENCHMARKS.md's summary and "Against the peers".
bench-peers: deps web postgis peers
	$(BIN)/python -m benchmarks.peers.bench --write

# The peer servers, pinned, each in a virtual environment of its own under build/peers/
# (stamped: a second run installs nothing).
peers: deps iproute
	$(BIN)/python -m benchmarks.peers.install

# Federation through the impairment proxy: 64 kbit/s, 2 % loss, a 10-minute outage (about
# fifteen minutes; python benchmarks/federation.py --quick for a 2-second one); written.
bench-federation: deps
	$(BIN)/python benchmarks/federation.py --write

# Fusion alone, printed rather than written (quicker: python benchmarks/fusion.py --quick).
bench-fusion: deps
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[bench]'
	$(BIN)/python benchmarks/fusion.py

deps: $(PY_STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Pinned by constraints.txt; the project itself is installed editable (with the STAC API
# server the imagery tests run), which builds its compiled module (setup.py) in place.
$(PY_STAMP): $(BIN)/python pyproject.toml constraints.txt setup.py \
		$(wildcard src/tessera/core/fusion/*.pyx src/tessera/core/fusion/*.pxd)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,stac-server]'
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

web: $(WEB_STAMP)

$(WEB_STAMP): $(NODE_STAMP) scripts/build-web.mjs
	node scripts/build-web.mjs

chromium: $(CHROMIUM)

$(CHROMIUM):
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium

# GDAL's ogrinfo: a third-party reader the export tests check Tessera's files with.
gdal: $(OGRINFO)

$(OGRINFO):
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends gdal-bin

# DejaVu Sans: KMZ icons draw the letters of symbols with it, and refuse to go without.
fonts: $(SYMBOL_FONT)

$(SYMBOL_FONT):
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends fonts-dejavu-core

# Debian's PostGIS for the machine's PostgreSQL 15 (the PostGIS tests' databases need it);
# the running server picks it up without a restart.
postgis: $(POSTGIS)

$(POSTGIS):
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql-15-postgis-3

# ip (iproute2) brings up loopback in the namespace FreeTAKServer runs in.
iproute: $(IP)

$(IP):
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends iproute2

clean:
	rm -rf $(VENV) node_modules src/tessera/web/static/vendor
