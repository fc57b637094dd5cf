#!/usr/bin/env bash
# The benchmark suite behind BENCHMARKS.md.
#   scripts/bench.sh          full runs (criterion in the release profile; emulator runs at size)
#   scripts/bench.sh --smoke  every benchmark once, small, in the test profile: CI runs this
#                             so the suite cannot rot (figures from it mean nothing)
# The load driver (`cargo run -p local-stack -- spike`) needs `make dev` running; see
# BENCHMARKS.md. Zip sizes: `make package`.
set -euo pipefail
cd "$(dirname "$0")/.."
domain_benches=(--bench per_lead --bench routing --bench attribution --bench roi --bench import)
emulator_benches=(--bench cost_per_lead --bench intake_overhead --bench sla_due --bench roi_export --bench lead_list --bench transfer_rate)

if [ "${1:-}" = "--smoke" ]; then
  # `cargo test --bench` runs criterion benches once each and the emulator benches in
  # their quick mode; the seeded sizes are cut to seconds. One `--workspace` build, as
  # `make test`'s: per package (`-p`), cargo resolves the dependencies' features apart
  # and builds them again (6.7 of the step's 7.6 minutes in a CI run).
  SLA_BENCH_OPEN=2000 SLA_BENCH_DUE=20 ROI_BENCH_CAMPAIGNS=5 ROI_BENCH_DAYS=31 LIST_BENCH_SIZES=300,1000 TRANSFER_BENCH_LEADS=120 \
    cargo test --workspace "${domain_benches[@]}" "${emulator_benches[@]}"
else
  cargo bench -p leadflow-domain "${domain_benches[@]}"
  cargo bench -p leadflow-tests "${emulator_benches[@]}"
fi
