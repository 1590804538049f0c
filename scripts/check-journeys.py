#!/usr/bin/env python3
"""PM4Py as an oracle for Heard's journeys: reads an event log Heard wrote and prints PM4Py's directly-follows graph.

Usage: check-journeys.py FORMAT FILE OUT_JSON [--repeat N]

FORMAT is one of
  csv          columns case,activity,time_ms (what `heard bench journeys` writes); the times are taken in memory
  xes          XES, one trace per person (`heard export events --format xes`)
  ocel-json    OCEL 2.0 JSON (`--format ocel-json`), flattened on the object type "person"
  ocel-sqlite  OCEL 2.0 SQLite (`--format ocel-sqlite`), flattened on "person"

It writes OUT_JSON: {"pm4py": version, "seconds": the best of N timings of pm4py.discover_dfg alone, "events",
"cases", "dfg": [[from, to, count]], "start": {activity: count}, "end": {...},
"performance": [[from, to, mean_seconds, median_seconds]]}.

PM4Py is AGPL-3.0: it is run out of process only, as a test oracle, never shipped with Heard. Install it with
`python3 -m pip install pm4py` (scripts/test.sh does). Exit status 3 when it is missing.
"""
import json
import sys
import time


def main():
    args = sys.argv[1:]
    repeat = 1
    if "--repeat" in args:
        i = args.index("--repeat")
        repeat = int(args[i + 1])
        del args[i : i + 2]
    if len(args) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    fmt, path, out = args
    # PM4Py prints a licence banner (AGPL-3.0, said above) on every import from a script; once per run is enough
    # for the people reading a test log, and this script says it in its own words.
    sys._pm4py_welcome_shown = True
    try:
        import pandas as pd
        import pm4py
    except ImportError as e:
        print(
            f"check-journeys: PM4Py is not installed ({e}); install it with: python3 -m pip install pm4py",
            file=sys.stderr,
        )
        return 3

    if fmt == "csv":
        df = pd.read_csv(path, dtype={"case": str, "activity": str, "time_ms": "int64"})
        df = pd.DataFrame(
            {
                "case:concept:name": df["case"],
                "concept:name": df["activity"],
                "time:timestamp": pd.to_datetime(df["time_ms"], unit="ms", utc=True),
            }
        )
    elif fmt == "xes":
        df = pm4py.read_xes(path)
    elif fmt in ("ocel-json", "ocel-sqlite"):
        ocel = pm4py.read_ocel2_json(path) if fmt == "ocel-json" else pm4py.read_ocel2_sqlite(path)
        df = pm4py.ocel_flattening(ocel, "person")
    else:
        print(f"check-journeys: unknown format {fmt!r}", file=sys.stderr)
        return 2

    best = None
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        dfg, start, end = pm4py.discover_dfg(df)
        t = time.perf_counter() - t0
        best = t if best is None else min(best, t)
    perf = []
    if fmt != "csv":
        pdfg, _, _ = pm4py.discover_performance_dfg(df)
        perf = [[a, b, float(v["mean"]), float(v["median"])] for (a, b), v in pdfg.items()]
    result = {
        "pm4py": pm4py.__version__,
        "seconds": best,
        "events": int(len(df)),
        "cases": int(df["case:concept:name"].nunique()),
        "dfg": [[a, b, int(n)] for (a, b), n in dfg.items()],
        "start": {k: int(v) for k, v in start.items()},
        "end": {k: int(v) for k, v in end.items()},
        "performance": perf,
    }
    with open(out, "w", encoding="utf-8") as f:
        json.dump(result, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
