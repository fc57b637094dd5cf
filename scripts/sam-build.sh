#!/usr/bin/env bash
# `sam build` exactly as the deploy guide runs it, then checks what it built: one Lambda
# artifact per function the template declares, each a `bootstrap` executable for the
# chosen CPU, within 8 MiB zipped (what `sam deploy` uploads). Then `sam validate --lint`.
#
#   scripts/sam-build.sh              arm64, the template's default (needs
#                                     `rustup target add aarch64-unknown-linux-gnu`)
#   scripts/sam-build.sh x86_64       the override for builders without that library
#   scripts/sam-build.sh x86_64 --quick
#                                     what CI runs: the same sam build, files and checks,
#                                     but the release profile without link-time
#                                     optimisation and with 16 codegen units (about half
#                                     the time on 2 cores). Its binaries are bigger than
#                                     the ones deployed, so it prints their sizes without
#                                     holding them to the 8 MiB budget; `make package`
#                                     (and every deploy built with it) does.
#
# CI runs the x86_64 build: its machines cannot fetch Rust's aarch64 standard library.
set -euo pipefail
cd "$(dirname "$0")/.."

arch=${1:-arm64}
case "$arch" in
  arm64) machine="ARM aarch64" ;;
  x86_64) machine="X86-64" ;;
  *) echo "sam-build: unknown architecture $arch (arm64 or x86_64)" >&2; exit 2 ;;
esac
quick=0
case "${2:-}" in
  "") ;;
  --quick)
    quick=1
    # Cargo reads a profile's settings from the environment over Cargo.toml; exported,
    # they reach the builds sam runs too, so it finds the binaries built below fresh.
    export CARGO_PROFILE_RELEASE_LTO=off CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 ;;
  *) echo "sam-build: unknown option $2 (--quick)" >&2; exit 2 ;;
esac

export PATH="$PWD/.venv/bin:$PATH" SAM_CLI_TELEMETRY=0
export AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-us-east-1}

# Every function's binary first, in one cargo invocation: each fat-LTO link is
# single-threaded, and one invocation runs two at a time where sam build, one function
# after another, would run one (on 2 cores: about half the time). It is the command sam
# build runs per function (`cargo lambda build --release [--arm64] --bin NAME`) with all
# the names, so the same build: sam build then finds each binary built.
bins=()
for name in $(awk '/Binary:/ {print $2}' infra/template.yaml); do bins+=(--bin "$name"); done
arch_flag=()
if [ "$arch" = arm64 ]; then arch_flag=(--arm64); fi
cargo lambda build --release "${arch_flag[@]}" "${bins[@]}"

# samconfig.toml names the template for build (and only for build and validate).
sam build --parameter-overrides "Architecture=$arch"
sam validate --lint

python3 - "$machine" "$quick" <<'EOF'
import io, pathlib, re, sys, zipfile

machine = sys.argv[1]
quick = sys.argv[2] == "1"
limit = 8 * 1024 * 1024
built = pathlib.Path(".aws-sam/build")
template = pathlib.Path("infra/template.yaml").read_text()
functions = re.findall(r"^  (\w+):\n    Type: AWS::Serverless::Function", template, re.M)
manifest = (built / "template.yaml").read_text()
failures = []
for name in functions:
    bootstrap = built / name / "bootstrap"
    if not bootstrap.is_file():
        failures.append(f"{name}: no bootstrap in {bootstrap.parent}")
        continue
    head = bootstrap.read_bytes()[:20]
    # ELF, and e_machine at byte 18: 0xB7 aarch64, 0x3E x86-64.
    want = {"ARM aarch64": 0xB7, "X86-64": 0x3E}[machine]
    if head[:4] != b"\x7fELF" or head[18] != want:
        failures.append(f"{name}: bootstrap is not an {machine} executable")
    if not bootstrap.stat().st_mode & 0o111:
        failures.append(f"{name}: bootstrap is not executable")
    # The built template points each function at its own artifact, not the repository.
    if not re.search(rf"^      CodeUri: {name}$", manifest, re.M):
        failures.append(f"{name}: the built template's CodeUri is not {name}")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for f in sorted((built / name).rglob("*")):
            z.write(f, f.relative_to(built / name))
    size = buffer.tell()
    print(f"{name:22} bootstrap {bootstrap.stat().st_size / 1e6:5.1f} MB, zipped {size / 1e6:4.1f} MB")
    if size > limit and not quick:
        failures.append(f"{name}: zipped {size} bytes, over 8 MiB ({limit})")
if quick:
    print("sam-build: --quick (no LTO): sizes above are not the release profile's; "
          "the 8 MiB budget is checked by a build without --quick")
if not functions:
    failures.append("no functions found in infra/template.yaml")
for f in failures:
    print("sam-build:", f, file=sys.stderr)
sys.exit(1 if failures else 0)
EOF
