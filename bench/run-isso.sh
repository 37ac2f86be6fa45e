#!/usr/bin/env bash
# Runs the shared load harness (../shared/bench/loadgen.py) against Isso 0.14 under
# gunicorn (-w 4 --preload, sync workers) with bench/isso.cfg, and writes
# bench/results/isso.json for a side-by-side comparison with Rejoinder.
# The full workload takes ~30-40 min (seeding 30,000 comments is slow); add --quick for
# a 1-2 minute smoke run. Extra arguments go to loadgen.py (later ones win).
# Venvs live outside the repo in $BENCH_CACHE (default ~/.cache/rejoinder-bench).
# The harness wipes /tmp/isso-comments.db* first, starts the server and stops it at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

LOADGEN=../shared/bench/loadgen.py
if [[ ! -f $LOADGEN ]]; then
    echo "run-isso.sh: $LOADGEN not found, skipping the Isso benchmark" >&2
    exit 0
fi

CACHE=${BENCH_CACHE:-$HOME/.cache/rejoinder-bench}
mkdir -p "$CACHE" bench/results
if [[ ! -x $CACHE/bench-venv/bin/python ]]; then
    python3 -m venv "$CACHE/bench-venv"
    "$CACHE/bench-venv/bin/pip" install -q aiohttp uvloop
fi
if [[ ! -x $CACHE/isso-venv/bin/gunicorn ]]; then
    python3 -m venv "$CACHE/isso-venv"
    "$CACHE/isso-venv/bin/pip" install -q isso==0.14.0 gunicorn
fi

CFG=$PWD/bench/isso.cfg
# --seed-max-s: Isso needs ~12 min to seed; the harness's default bound (420 s) would cut it short.
"$CACHE/bench-venv/bin/python" "$LOADGEN" --adapter isso --base http://127.0.0.1:18080 \
    --server-cmd "$CACHE/isso-venv/bin/gunicorn -b 127.0.0.1:18080 -w 4 --preload isso.run" \
    --server-env "ISSO_SETTINGS=$CFG" --server-log "$CACHE/isso-server.log" \
    --reset-cmd 'rm -f /tmp/isso-comments.db*' --state "$CACHE/isso-state.json" \
    --seed-max-s 1800 --label isso --out bench/results/isso.json "$@"
