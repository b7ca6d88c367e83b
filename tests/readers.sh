#!/usr/bin/env bash
# The README's and docs/sweeps.md's ways of reading output, run for real:
# make a run folder (the default scenario) and a sweep folder (the shipped
# sweep), both with fewer paths, then run tests/readers.py on them (every
# python snippet of both documents, and polars, pandas, pyarrow and DuckDB
# on every table), and the documents' `recommend` command lines.
#
# Needs python3 with polars, pandas, pyarrow and duckdb (.ci/run installs
# them). Run from the repository root after `cargo build --release`.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
BIN="$ROOT/target/release/contagion"
[ -x "$BIN" ] || { echo "readers test: build first (cargo build --release)" >&2; exit 1; }
WORK="$(mktemp -d /tmp/contagion-readers.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT

"$BIN" run --paths 40 --out "$WORK/output/default" --quiet
sed -e "s#^scenario = .*#scenario = \"$ROOT/scenarios/default.toml\"#" \
    -e 's/^paths = .*/paths = 40/' -e 's/^paths_per_unit = .*/paths_per_unit = 20/' \
    scenarios/sweeps/liquidation-threshold.toml > "$WORK/sweep.toml"
"$BIN" sweep "$WORK/sweep.toml" --out "$WORK/output/sweeps/liquidation-threshold" --quiet

(cd "$WORK" && python3 "$ROOT/tests/readers.py" "$ROOT/README.md" "$ROOT/docs/sweeps.md")

# The documents' recommend commands, as written (exit 1 means nothing was
# within the budget, a fine answer; 2 would be a synopsis that is wrong).
n=0
while IFS= read -r line; do
    args="${line#*recommend }"
    echo "== $line"
    set +e
    (cd "$WORK" && eval "\"$BIN\" recommend $args")
    code=$?
    set -e
    if [ "$code" -gt 1 ]; then
        echo "readers test: \`$line\` failed (exit $code)" >&2
        exit 1
    fi
    n=$((n + 1))
done < <(grep -hE '^(contagion|cargo run --release --) recommend output/' README.md docs/sweeps.md)
[ "$n" -ge 2 ] || { echo "readers test: found $n recommend commands in the documents" >&2; exit 1; }
# The example notebook, executed cell by cell (nbclient) on the same folders.
echo "== examples/run-and-sweep.ipynb"
(cd "$WORK" && CONTAGION_FIGURE="$WORK/bad_debt_var99.png" \
    python3 "$ROOT/tests/notebook.py" "$ROOT/examples/run-and-sweep.ipynb" "$WORK/executed.ipynb")
[ -s "$WORK/bad_debt_var99.png" ] || { echo "readers test: the notebook drew no chart" >&2; exit 1; }
# The run's and the sweep's report.html in headless Chromium: no console
# errors, every chart drawn; screenshots kept in target/report-screenshots.
echo "== report.html in Chromium"
python3 "$ROOT/tests/browser.py" "$ROOT/target/report-screenshots" \
    "$WORK/output/default" "$WORK/output/sweeps/liquidation-threshold"
echo "== readers test: passed"
