# Both entry points bootstrap their own virtual environment in .venv.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: serve test bench loadtest check clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

# The dashboard map's province shapes: amCharts' geodata (an npm package, linkware: the page
# shows the attribution; docs/portal.md records the licence), unpacked beside the venv at set-up,
# never fetched by the server. Without npm the dashboard shows no map (its tables are the same).
GEODATA := @amcharts/amcharts4-geodata@4.1.32
SHAPES := $(VENV)/share/sdmx-server/amcharts4-geodata
$(SHAPES)/json/iranLow.json:
	rm -rf $(SHAPES) && mkdir -p $(SHAPES)
	cd $(SHAPES) && npm pack --silent '$(GEODATA)' >/dev/null \
	  && tar xzf amcharts-amcharts4-geodata-*.tgz --strip-components=1 package/json/iranLow.json package/LICENSE package/package.json \
	  && rm -f amcharts-amcharts4-geodata-*.tgz \
	  || echo "npm pack $(GEODATA) failed: the dashboard will show no map" >&2

serve: $(STAMP) $(SHAPES)/json/iranLow.json
	$(BIN)/sdmx-server serve --demo --log-format text --host $(HOST) --port $(PORT)

test: $(STAMP) $(SHAPES)/json/iranLow.json
	$(BIN)/python -m pytest $(PYTEST_ARGS)

check: $(STAMP)
	$(BIN)/sdmx-server check

# The data benchmark on SQLite, then on PostgreSQL (BENCH_POSTGRES_URL; a database of its own).
BENCH_POSTGRES_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/sdmx_bench
bench: $(STAMP)
	$(BIN)/python bench/bench_data.py $(BENCH_ARGS)
	$(BIN)/python bench/bench_data.py --database-url $(BENCH_POSTGRES_URL) $(BENCH_ARGS)
	$(BIN)/python bench/bench_availability.py
	$(BIN)/python bench/bench_structures.py
	$(BIN)/python bench/bench_load.py
	$(BIN)/python bench/bench_load.py --postgres
	$(BIN)/python bench/bench_load_formats.py
	$(BIN)/python bench/bench_sources.py

# 50 clients for 60 s against `serve --workers`: not part of `make test` (see bench/loadtest.py).
loadtest: $(STAMP)
	$(BIN)/python bench/loadtest.py $(LOADTEST_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis
