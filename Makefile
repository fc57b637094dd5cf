# The two commands a new user needs:  make dev  (run it)  and  make test  (test it).
.PHONY: setup dev test lint fmt ci clean package bench bench-smoke docs

CARGO ?= cargo

setup:
	@scripts/setup.sh

## Run the whole system locally: emulator, functions, gateway on :3000, demo page on :8080.
# Each function the template declares is pre-built on its own, exactly as `cargo lambda
# watch` builds it (`cargo run --bin NAME`), so the first request does not wait for a compile.
BINARIES := $(shell awk '/Binary:/ {print $$2}' infra/template.yaml)

dev: setup
	@for f in $(BINARIES); do $(CARGO) build --bin $$f || exit 1; done
	$(CARGO) build -p local-stack
	$(CARGO) run -q -p local-stack -- up

## Unit, property and integration tests (integration tests start their own emulator).
# Each test process writes its logs to target/test-logs/; the last step scans them all
# for e-mail addresses and mainland mobile numbers (tests/pii_logs.rs).
test: setup
	@rm -rf target/test-logs
	@if $(CARGO) nextest --version >/dev/null 2>&1; then \
		$(CARGO) nextest run --workspace --no-fail-fast; \
	else \
		$(CARGO) test --workspace --no-fail-fast; \
	fi
	$(CARGO) test -p leadflow-tests --test pii_logs -- --ignored every_captured_log_is_free_of_contact_data

## Benchmarks (BENCHMARKS.md): criterion for the domain, the emulator for costs and reads.
bench: setup
	@scripts/bench.sh

## Every benchmark once, small and unoptimised (what CI runs so the suite cannot rot).
bench-smoke: setup
	@scripts/bench.sh --smoke

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	scripts/check-cycles.py shared/domain/src shared/aws/src
	.venv/bin/cfn-lint infra/template.yaml
	AWS_DEFAULT_REGION=us-east-1 SAM_CLI_TELEMETRY=0 .venv/bin/sam validate --lint --template-file infra/template.yaml

## Lambda deployment zips, one per binary: target/lambda/<binary>/bootstrap.zip.
# The template runs on arm64 (Graviton); that needs Rust's aarch64 standard library
# (`rustup target add aarch64-unknown-linux-gnu`). `make package ARCH=--x86-64` builds
# for x86_64 instead (set the template's Architectures to match).
ARCH ?= --arm64
package: setup
	PATH="$(CURDIR)/.venv/bin:$$PATH" $(CARGO) lambda build --release $(ARCH) --output-format zip \
		$(addprefix --bin ,$(BINARIES))
	@for f in $(BINARIES); do ls -l target/lambda/$$f/bootstrap.zip; done

## The documentation (docs/, an mdBook) into docs/book/, with a pinned mdbook the project
# installs into .tools/ (scripts/install-mdbook.sh). Fails on any mdbook warning or error,
# and on a broken relative link or anchor (scripts/check-docs-links.py).
MDBOOK := .tools/bin/mdbook

docs:
	@scripts/install-mdbook.sh
	@out=$$($(MDBOOK) build docs 2>&1); status=$$?; echo "$$out"; \
		if [ $$status -ne 0 ] || echo "$$out" | grep -Eq '(WARN|ERROR)'; then \
			echo "docs: mdbook reported a problem" >&2; exit 1; fi
	@python3 scripts/check-docs-links.py

fmt:
	$(CARGO) fmt --all

clean:
	rm -rf .local
