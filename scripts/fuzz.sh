#!/usr/bin/env bash
# Fuzzes the parsers that read untrusted input (fuzz/fuzz_targets/*), each for a bounded time.
#   scripts/fuzz.sh [seconds-per-target] [target...]   default: 60 s, every target
# Installs cargo-fuzz into .bin/ on first use. Only a stable toolchain is needed:
# cargo-fuzz's sanitizer flags are nightly-only, and RUSTC_BOOTSTRAP=1 lets stable
# rustc accept them. FUZZ_SANITIZER=none runs without AddressSanitizer (the code is
# safe Rust; about twice the executions per second).
# A crash leaves its input in fuzz/artifacts/<target>/ and makes the script fail; turn it
# into a unit test in the crate it belongs to (`cargo fuzz fmt <target> <file>` prints it).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
shift || true
CARGO_FUZZ_VERSION=0.13.2

if [ ! -x .bin/bin/cargo-fuzz ]; then
  cargo install --locked --root .bin --version "$CARGO_FUZZ_VERSION" cargo-fuzz
fi
export PATH="$PWD/.bin/bin:$PATH" RUSTC_BOOTSTRAP=1
sanitizer=(--sanitizer "${FUZZ_SANITIZER:-address}")

cd fuzz
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo fuzz list)
fi
# One build of every target (each `run` below then finds it built).
cargo fuzz build "${sanitizer[@]}"

mkdir -p logs
failed=()
printf '\n%-14s %12s %10s %8s  %s\n' target executions exec/s corpus result
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  log="logs/$t.log"
  # The committed seeds are read; what the run learns goes to corpus/<target> (ignored).
  if cargo fuzz run "${sanitizer[@]}" "$t" "corpus/$t" "seeds/$t" -- \
    -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 >"$log" 2>&1; then
    result=ok
  else
    result="CRASH (see fuzz/$log, fuzz/artifacts/$t/)"
    failed+=("$t")
  fi
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  speed=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  corpus=$(find "corpus/$t" -type f | wc -l)
  printf '%-14s %12s %10s %8s  %s\n' "$t" "$runs" "$speed" "$corpus" "$result"
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "crashed: ${failed[*]}" >&2
  exit 1
fi
