#!/usr/bin/env bash
# Installs mdbook (which builds docs/ into docs/book/) into the project: .tools/bin/mdbook.
# Idempotent: does nothing when .tools/bin/mdbook is already the pinned version.
# Built from crates.io with only the `search` feature: the book is built, never served or
# watched, so the web server and file watcher (tokio, axum, notify) are left out.
set -euo pipefail
cd "$(dirname "$0")/.."

version=0.5.4
bin=.tools/bin/mdbook
if [ -x "$bin" ] && [ "$("$bin" --version 2>/dev/null)" = "mdbook v$version" ]; then
  exit 0
fi

echo "install-mdbook: building mdbook $version into .tools/ (first run takes a few minutes)…"
cargo install mdbook --locked --version "$version" --root .tools \
  --no-default-features --features search
"$bin" --version
