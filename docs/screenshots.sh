#!/usr/bin/env bash
# The README's two pictures (docs/img/report.png, docs/img/explore.png): an
# MNIST run of the default model (784-400-20, Bernoulli, 10 epochs), its
# report and its explorer, photographed by headless Chromium over WebDriver
# (the ignored `screenshots` test of crates/vaekit-cli/tests/browser.rs).
#
# Usage: docs/screenshots.sh [MNIST_DIR] [WORK_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-../shared/data/mnist}
work=${2:-$(mktemp -d)}
cargo build --release --quiet
[ -e "$work/mnist/config.json" ] || target/release/vaekit train --data "$data" --out "$work/mnist" --epochs 10 --quiet
VAEKIT_SCREENSHOT_RUN="$work/mnist" cargo test --release -p vaekit-cli --test browser -- --ignored screenshots --nocapture
