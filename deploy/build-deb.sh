#!/usr/bin/env bash
# Builds the Debian package: the release binary, then its shell completions and manual pages
# (generated from the binary's own command-line definition into target/assets/), then
# `cargo deb --no-build`. Extra arguments go to cargo deb (e.g. -o DIR).
# PROFILE=dev packages the test build instead (CI), without building a release.
set -euo pipefail
cd "$(dirname "$0")/.."
profile="${PROFILE:-release}"
if [ "$profile" = release ]; then
  cargo build --release --bin gwmon
  bin=target/release/gwmon
else
  cargo build --bin gwmon
  bin=target/debug/gwmon
fi
assets=target/assets
rm -rf "$assets"
mkdir -p "$assets/man"
"$bin" completions bash >"$assets/gwmon.bash"
"$bin" completions zsh >"$assets/_gwmon"
"$bin" completions fish >"$assets/gwmon.fish"
"$bin" man --out "$assets/man" >/dev/null
gzip -9n "$assets"/man/*.1
command -v cargo-deb >/dev/null 2>&1 || cargo install cargo-deb --version 3.8.0 --locked
# Stripped: the release profile keeps line tables for profiling, the package does not need them.
cargo deb --profile "$profile" --no-build --strip "$@"
