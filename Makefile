# tickrail — the two commands of the README.
#   make run   builds the release binary and runs the main job: tickrail run (config/default.toml)
#   make test  everything CI checks: fmt, clippy -D warnings, the whole test suite, loom
#   make bench the benchmark harnesses (release), see docs/BENCHMARKS.md
#   make bench-peers  tickrail beside hftbacktest on the same data (Python venv, bench/peers)
#   make bench-parity the backtest's results beside hftbacktest's on the same settings

SHELL := /bin/bash
CARGO ?= cargo
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)
# Tests, test-built binaries and clippy share the `ci` profile so dependencies build once.
PROFILE ?= ci

.PHONY: all run test deps fmt clippy unit loom bench bench-peers bench-parity peers-venv clean

all: run

# Build tools the workspace needs: cmake and ccache (the quickfix crate builds QuickFIX C++
# with cmake, through ccache when it is there). Installed with apt-get when missing. The
# default build needs them (the `fix` feature); engine and gateways without default
# features need neither.
deps:
	@command -v $(CARGO) >/dev/null || { echo "cargo not found: install Rust (https://rustup.rs)"; exit 1; }
	@missing=""; for t in cmake ccache; do command -v $$t >/dev/null || missing="$$missing $$t"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

run: deps
	$(CARGO) build --release -p tickrail
	./target/release/tickrail run

fmt:
	$(CARGO) fmt --all -- --check

# Each also builds engine and gateways without default features (no tract-onnx, no QuickFIX
# C++), as a desk without ONNX models or FIX builds them; same profile, so the shared
# dependencies are reused.
clippy: deps
	$(CARGO) clippy --workspace --all-targets --profile $(PROFILE) -- -D warnings
	$(CARGO) clippy -p tickrail-engine -p tickrail-gateways --no-default-features --all-targets \
	  --profile $(PROFILE) -- -D warnings

unit: deps
	$(CARGO) test --workspace --profile $(PROFILE)
	$(CARGO) test -p tickrail-engine -p tickrail-gateways --no-default-features --profile $(PROFILE)

# The commit protocol under loom (its own target dir: loom needs --cfg loom everywhere).
loom: deps
	RUSTFLAGS="--cfg loom" $(CARGO) test -p tickrail-journal --lib --profile $(PROFILE) \
	  --target-dir target/loom commit::loom_tests

test: fmt clippy unit loom

bench: deps peers-venv
	$(CARGO) run --release -p tickrail-bench --bin journal_bench
	$(CARGO) run --release -p tickrail-bench --bin stage_bench -- --pin
	$(CARGO) run --release -p tickrail-bench --bin itch_decode_bench
	$(CARGO) run --release -p tickrail-bench --bin binance_decode_bench
	$(CARGO) run --release -p tickrail-bench --bin file_decode_bench
	$(CARGO) run --release -p tickrail-bench --bin backtest_bench -- \
	  --config config/backtest-binance.toml \
	  --data gateways/samples/binance/spot_btcusdt_20240808.gz gateways/samples/binance/usdm_ethusdt_20240808.gz
	$(CARGO) run --release -p tickrail-bench --bin udp_feed_bench -- --packets 100000 --rate 20000 --rounds 2
	$(CARGO) run --release -p tickrail-bench --bin fix_roundtrip_bench -- --wait block
	$(CARGO) run --release -p tickrail-bench --bin peers_bench -- --python $(PEERS_PYTHON)

# Peer benchmarks only (never CI, never `make test`): a Python virtual environment in
# bench/peers/.venv (gitignored, reused when present) with hftbacktest and the packages its
# converters need, then peers_bench in release (bench/peers/README.md).
PEERS_VENV := bench/peers/.venv
PEERS_PYTHON := $(PEERS_VENV)/bin/python
PEERS_PACKAGES := hftbacktest==2.4.4 numpy databento

peers-venv:
	@if [ ! -x $(PEERS_PYTHON) ] || \
	  ! $(PEERS_PYTHON) -c 'import databento, hftbacktest; assert hftbacktest.__version__ == "2.4.4"' \
	  2>/dev/null; then \
	  command -v python3 >/dev/null || { echo "python3 not found"; exit 1; }; \
	  echo "creating $(PEERS_VENV) ($(PEERS_PACKAGES))"; \
	  python3 -m venv $(PEERS_VENV) && \
	  $(PEERS_PYTHON) -m pip install -q --upgrade pip && \
	  $(PEERS_PYTHON) -m pip install -q $(PEERS_PACKAGES); \
	fi

bench-peers: peers-venv
	$(CARGO) run --release -p tickrail-bench --bin peers_bench -- --python $(PEERS_PYTHON)

# The backtest cross-checked against hftbacktest (same capture, latency, queue model, fees,
# tick and lot, and its 100 ms quoting strategy): both results side by side with the targets
# (docs/BACKTEST.md). Same venv as bench-peers; never CI.
bench-parity: peers-venv
	$(CARGO) build --release -p tickrail
	$(PEERS_PYTHON) bench/peers/parity.py --tickrail target/release/tickrail

clean:
	$(CARGO) clean
	rm -rf data
