"""The documented ways of reading contagion's output, run for real.

Run from a folder holding a run folder at output/default and a sweep folder
at output/sweeps/liquidation-threshold (tests/readers.sh makes both):

    python3 tests/readers.py README.md docs/sweeps.md

1. Every ```python block of the given Markdown files runs as written
   (one namespace per file, in order), so the README's and docs/sweeps.md's
   snippets cannot rot.
2. The default readers of polars, pandas, pyarrow and DuckDB read every
   table of the run folder and every table folder of the sweep folder: the
   same rows and columns in all four, index columns as signed integers
   (`step - 1` at step 0 is -1, not 4294967295), and `run` as an integer.
3. summary.json's VaR99 of bad debt is polars' quantile with
   interpolation="linear" (the definition the README states).
"""

import json
import math
import pathlib
import re
import sys

import duckdb
import pandas as pd
import polars as pl
import pyarrow.parquet as pq

RUN = pathlib.Path("output/default")
SWEEP = pathlib.Path("output/sweeps/liquidation-threshold")
INDEX = ["run", "path", "step", "round", "position"]

failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
        print(f"FAIL: {what}", file=sys.stderr)


def run_snippets(markdown):
    text = pathlib.Path(markdown).read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    check(blocks, f"{markdown}: no python snippets")
    namespace = {}
    for i, code in enumerate(blocks):
        try:
            exec(compile(code, f"{markdown} snippet {i + 1}", "exec"), namespace)
            print(f"ok: {markdown} snippet {i + 1}")
        except Exception as e:  # a snippet that fails is the failure
            check(False, f"{markdown} snippet {i + 1}: {type(e).__name__}: {e}")


def read_all_four(source, glob):
    """The table at `source` (a file or a table folder) in each reader."""
    out = {}
    out["polars"] = pl.read_parquet(str(source))
    out["pandas"] = pd.read_parquet(str(source))
    out["pyarrow"] = pq.read_table(str(source))
    out["duckdb"] = duckdb.sql(f"SELECT * FROM '{glob}'")
    return out


def signed_integer_columns(name, frames):
    pl_df, pd_df, pa_t, db = (frames[k] for k in ("polars", "pandas", "pyarrow", "duckdb"))
    rows = {pl_df.height, len(pd_df), pa_t.num_rows, db.shape[0]}
    check(len(rows) == 1, f"{name}: row counts differ between readers: {rows}")
    cols = [set(pl_df.columns), set(pd_df.columns), set(pa_t.column_names), set(db.columns)]
    check(all(c == cols[0] for c in cols), f"{name}: columns differ between readers: {cols}")
    db_types = dict(zip(db.columns, db.types))
    for key in INDEX:
        if key not in pl_df.columns:
            continue
        check(pl_df.schema[key] == pl.Int64, f"{name}.{key}: polars reads {pl_df.schema[key]}")
        check(str(pd_df[key].dtype) == "int64", f"{name}.{key}: pandas reads {pd_df[key].dtype}")
        check(str(pa_t.schema.field(key).type) == "int64",
              f"{name}.{key}: pyarrow reads {pa_t.schema.field(key).type}")
        check(str(db_types[key]) == "BIGINT", f"{name}.{key}: DuckDB reads {db_types[key]}")
    # Subtracting past zero gives a negative number, not a wrapped one: for
    # each index column, key - (max + 1) is at most -1 in every reader.
    for key in INDEX:
        if key not in pl_df.columns or pl_df.height == 0:
            continue
        top = pl_df[key].max() + 1
        got = pl_df.select((pl.col(key) - top).max()).item()
        check(got == -1, f"{name}: polars {key} - {top} is at most {got}")
        got = int((pd_df[key] - top).max())
        check(got == -1, f"{name}: pandas {key} - {top} is at most {got}")
        got = db.query("t", f"SELECT max({key} - {top}) FROM t").fetchall()[0][0]
        check(got == -1, f"{name}: DuckDB {key} - {top} is at most {got}")


def main():
    for md in sys.argv[1:]:
        run_snippets(md)

    tables = sorted(RUN.glob("*.parquet"))
    check(len(tables) >= 6, f"{RUN}: only {len(tables)} tables")
    for t in tables:
        signed_integer_columns(str(t), read_all_four(t, t))
        print(f"ok: {t} in polars, pandas, pyarrow, DuckDB")

    folders = sorted(p for p in SWEEP.iterdir() if p.is_dir() and list(p.glob("*/*.parquet")))
    check(len(folders) >= 4, f"{SWEEP}: only {len(folders)} table folders")
    runs = pl.read_parquet(SWEEP / "runs.parquet")
    for f in folders:
        frames = read_all_four(f, f"{f}/*/*.parquet")
        signed_integer_columns(str(f), frames)
        got = sorted(frames["polars"]["run"].unique().to_list())
        check(got == sorted(runs["run"].to_list()), f"{f}: runs {got}")
        # DuckDB's hive detection, asked for explicitly, adds nothing.
        hive = duckdb.sql(f"SELECT * FROM read_parquet('{f}/*/*.parquet', hive_partitioning = true)")
        check(hive.columns == frames["duckdb"].columns, f"{f}: hive_partitioning changes the columns")
        print(f"ok: {f} in polars, pandas, pyarrow, DuckDB")

    summary = json.loads((RUN / "summary.json").read_text())
    paths = pl.read_parquet(RUN / "paths.parquet")
    linear = paths.select(pl.col("bad_debt").quantile(0.99, interpolation="linear")).item()
    want = summary["bad_debt"]["var99"]
    check(math.isclose(linear, want, rel_tol=1e-12, abs_tol=1e-9),
          f"summary.json bad_debt.var99 {want} is not the linear quantile {linear}")

    if failures:
        print(f"readers: {len(failures)} failures", file=sys.stderr)
        sys.exit(1)
    print("readers: every snippet ran and all four readers agree")


if __name__ == "__main__":
    main()
