# The two commands a new user needs:  make dev  (run it)  and  make test  (test it).
.PHONY: setup dev web test test-soak e2e lint fmt ci clean package bench bench-smoke docs bootstrap-admin deploy-console

CARGO ?= cargo

setup:
	@scripts/setup.sh

## Run the whole system locally: emulator, functions, gateway on :3000, demo page on :8080.
# Each function the template declares is pre-built on its own, exactly as `cargo lambda
# watch` builds it (`cargo run --bin NAME`), so the first request does not wait for a compile.
BINARIES := $(shell awk '/Binary:/ {print $$2}' infra/template.yaml)

dev: setup web
	@for f in $(BINARIES); do $(CARGO) build --bin $$f || exit 1; done
	$(CARGO) build -p local-stack
	$(CARGO) run -q -p local-stack -- up

## The web console (web/, Vue + Vite) built into web/dist, which `make dev` serves at
# /console/ (type-checked first: vue-tsc).
web: setup
	@cd web && npm run --silent build -- --logLevel warn

## The console in real Chromium against the real local stack (scripts/e2e.sh: installs
# Debian's chromium when missing, starts `make dev` on its own ports, runs the Playwright
# tests in web/e2e/, stops the stack). Screenshots of every screen: target/e2e/screens/.
e2e: setup
	@scripts/e2e.sh

## Unit, property and integration tests (integration tests start their own emulator).
# Each test process writes its logs to target/test-logs/; the last step scans them all
# for e-mail addresses and mainland mobile numbers (tests/pii_logs.rs).
#
# The soak tests are not run here but by `make test-soak` (CI runs both, one after the
# other, so nothing is tested less): they are the `#[ignore]`d tests of the test binaries
# in SOAK_TESTS (tests/faults.rs: the 1,000-submission burst under 20 % faults, about 14
# minutes on a loaded 2-core machine, and the outage past every retry, about 2). `#[ignore]`
# keeps both runners (nextest, and cargo test without it) off them by default;
# test-soak asks for exactly those binaries' ignored tests. (Other ignored tests are not
# soak tests: the PII scan below, and import's 20-minute 5,000-row file, on demand only.)
# --workspace everywhere: the same features as the main run, so no step rebuilds the
# functions (`-p leadflow-tests` resolves features differently and cost 3 minutes).
SOAK_TESTS := faults
PII_SCAN := $(CARGO) test --workspace --test pii_logs -- --ignored every_captured_log_is_free_of_contact_data

test: setup
	@rm -rf target/test-logs
	@if $(CARGO) nextest --version >/dev/null 2>&1; then \
		$(CARGO) nextest run --workspace --no-fail-fast; \
	else \
		$(CARGO) test --workspace --no-fail-fast; \
	fi
	$(PII_SCAN)
	cd web && npm run --silent test

## The soak tests (see above), then the same PII scan over the logs they wrote. Without
# nextest, cargo test runs them one at a time: in one process they would share the SDK's
# retry quota (a token bucket per service per process), which the fault tests measure.
test-soak: setup
	@rm -rf target/test-logs
	@if $(CARGO) nextest --version >/dev/null 2>&1; then \
		$(CARGO) nextest run --workspace $(addprefix --test ,$(SOAK_TESTS)) --run-ignored only --no-fail-fast; \
	else \
		$(CARGO) test --workspace $(addprefix --test ,$(SOAK_TESTS)) --no-fail-fast -- --ignored --test-threads=1; \
	fi
	$(PII_SCAN)

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

## Build the Lambda artifacts as `sam deploy` ships them (.aws-sam/build/<Function>/bootstrap)
# and check each: a bootstrap for the right CPU, within 8 MB zipped. arm64 (the template's
# default) needs Rust's aarch64 standard library (`rustup target add
# aarch64-unknown-linux-gnu`); `make package ARCH=x86_64` builds for x86_64 instead (deploy
# with the same `--parameter-overrides Architecture=x86_64`).
ARCH ?= arm64
package: setup
	@scripts/sam-build.sh $(ARCH)

## The first admin of a deployed stack, and where to sign in (scripts/bootstrap-admin.py).
# make bootstrap-admin STACK=leadflow-prod USERNAME=wang-admin EMAIL=wang@example.com [REGION=...]
# Safe to run again: an existing user is left as it is (RESEND=1 sends the invitation again).
STACK ?= leadflow-dev
bootstrap-admin: setup
	@test -n "$(USERNAME)" -a -n "$(EMAIL)" || { echo "usage: make bootstrap-admin [STACK=$(STACK)] USERNAME=staff-id EMAIL=address [REGION=...] [RESEND=1]" >&2; exit 1; }
	.venv/bin/python scripts/bootstrap-admin.py --stack "$(STACK)" --username "$(USERNAME)" --email "$(EMAIL)" \
		$(if $(REGION),--region "$(REGION)") $(if $(RESEND),--resend)

## The web console onto a deployed stack, after sam deploy (scripts/deploy-console.sh):
# builds web/, writes its config.json from the stack's outputs, lets the console client
# sign people in at the console's address, uploads it to the console bucket and
# invalidates index.html and config.json in CloudFront.
# make deploy-console [STACK=leadflow-dev] [REGION=...] [CONSOLE_CONFIG=your-config.json]
deploy-console:
	@REGION="$(REGION)" CONSOLE_CONFIG="$(CONSOLE_CONFIG)" scripts/deploy-console.sh "$(STACK)"

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
