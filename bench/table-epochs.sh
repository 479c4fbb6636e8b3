#!/bin/bash
# The table model's epoch time on UCI Adult, two builds side by side:
#   bench/table-epochs.sh A_BINARY B_BINARY [PAIRS]
# Each pair trains A then B for 8 epochs (batch 500, THREADS threads, 2 by
# default as in the bench's recipe; EXTRA adds train flags, such as
# EXTRA='--label-column income --model cvae') and prints the fastest epoch
# of each and B/A. The fastest epoch,
# not the median: on a shared virtual machine whole runs drift between a fast
# and a slow speed (0.3 against 0.5 s an epoch here), and alternating runs in
# pairs keeps the drift out of the ratio.
set -euo pipefail
A=$1; B=$2; PAIRS=${3:-4}; THREADS=${THREADS:-2}
DATA=${DATA:-$(dirname "$0")/../../shared/data/tabular/adult/adult-train.csv}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fastest() {
    rm -rf "$work/run"
    "$1" --threads "$THREADS" train --data "$DATA" --out "$work/run" --epochs 8 --batch-size 500 ${EXTRA:-} -q >/dev/null
    python3 -c "
import json
print('%.3f' % min(json.loads(l)['seconds'] for l in open('$work/run/metrics.jsonl')))"
}
echo "A B B/A"
for _ in $(seq "$PAIRS"); do
    a=$(fastest "$A"); b=$(fastest "$B")
    echo "$a $b $(python3 -c "print('%.3f' % ($b / $a))")"
done
