# The whole set-up on a fresh machine: `make run` (install, ingest samples, serve) and `make test`.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
export HF_HUB_OFFLINE=1
export TRANSFORMERS_OFFLINE=1
export HF_HUB_DISABLE_TELEMETRY=1
export GRADIO_ANALYTICS_ENABLED=False
export ANONYMIZED_TELEMETRY=False

.PHONY: install run ingest test test-fast lint bench browser ocr clean

# torch first, pinned to the local CPU build: a plain `torch` requirement would pull GBs of CUDA wheels.
$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

install: $(VENV)/.installed ocr

# Debian's chromium for the browser tests (never `playwright install`, which downloads).
# fonts-noto-cjk: the browser tests ask Korean questions and take screenshots of Hangul text.
browser:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)
	@fc-list :lang=ko 2>/dev/null | grep -q . || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-cjk >/dev/null)

# Debian's Tesseract with English and Korean data, for OCR of scanned PDF pages (ingest/loaders/ocr.py);
# skipped when both languages are already there. Without it docqa still runs and says scanned pages were skipped.
ocr:
	@langs="$$(tesseract --list-langs 2>/dev/null)"; \
	if ! printf '%s\n' "$$langs" | grep -qx eng || ! printf '%s\n' "$$langs" | grep -qx kor; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			tesseract-ocr tesseract-ocr-eng tesseract-ocr-kor >/dev/null; \
	fi

ingest: install
	$(BIN)/docqa ingest data/ --if-empty

run: ingest ocr
	$(BIN)/docqa ui

test: install browser ocr
	$(BIN)/ruff check --no-cache .
	$(BIN)/lint-imports
	$(BIN)/pytest -q

# Unit tests only (no model, no Chroma, no server, no browser): seconds, for the edit-test loop.
test-fast: install
	$(BIN)/lint-imports
	$(BIN)/pytest -q tests/unit

lint: install
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/lint-imports

bench: install
	$(BIN)/python benchmarks/ingest.py

clean:
	rm -rf data/.index
