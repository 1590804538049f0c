#!/usr/bin/env python3
"""DuckDB as an oracle for `heard export parquet`: reads the files Heard wrote and prints what it finds.

Usage: check-parquet.py DIR OUT_JSON

Reads whichever of responses.parquet, response_answers.parquet, signals.parquet and events.parquet are in DIR and
writes OUT_JSON: for each file {"rows", "types": {column: DuckDB type}, "personal": cells of text that look like an
email address or a phone number, and figures to compare with the store's}:

  responses         by_channel {channel: rows}, trust_sum, trust_positive, submitted_ms_sum, themes (elements),
                    persons (distinct person keys)
  response_answers  responses (distinct), value_number_sum
  signals           by_source {source: rows}, urgent, occurred_ms_sum, themes (elements)
  events            by_type {type: rows}, measure_sums {measure: sum}, occurred_ms_sum, with_person

DuckDB (MIT) is installed from PyPI (`python3 -m pip install duckdb`; scripts/test.sh does). Exit status 3 when it
is missing.
"""
import json
import os
import sys

# Text that looks like contact details: an email address, a North American phone number written with separators,
# or an E.164 number. Ids and keys (hex and UUIDs) never match these.
EMAIL = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+\.[A-Za-z]{2,}"
PHONE = r"(\(?\d{3}\)?[-. ]\d{3}[-. ]\d{4})|(\+\d{11,15})"


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    folder, out = sys.argv[1:]
    try:
        import duckdb
    except ImportError:
        print("duckdb is not installed: python3 -m pip install duckdb", file=sys.stderr)
        return 3
    con = duckdb.connect()
    # The patterns must find what they are for, or finding nothing would prove nothing.
    for sample in ["maria.lopez@example.com", "202-555-0147", "(202) 555-0147", "+12025550147"]:
        if not con.execute(f"SELECT regexp_matches(?, '{EMAIL}') OR regexp_matches(?, '{PHONE}')", [sample, sample]).fetchone()[0]:
            print(f"the contact-detail patterns miss {sample}", file=sys.stderr)
            return 1
    result = {"duckdb": duckdb.__version__}
    for name in ["responses", "response_answers", "signals", "events"]:
        path = os.path.join(folder, name + ".parquet")
        if not os.path.exists(path):
            continue
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{path}')")
        one = lambda sql: con.execute(sql).fetchone()[0]
        pairs = lambda sql: {str(k): v for k, v in con.execute(sql).fetchall()}
        types = {c: t for c, t, *_ in con.execute(f"DESCRIBE {name}").fetchall()}
        text = [c for c, t in types.items() if t in ("VARCHAR", "JSON", "VARCHAR[]")]
        checks = [
            f"regexp_matches(CAST({c} AS VARCHAR), '{EMAIL}') OR regexp_matches(CAST({c} AS VARCHAR), '{PHONE}')"
            for c in text
        ]
        f = {
            "rows": one(f"SELECT COUNT(*) FROM {name}"),
            "types": types,
            "personal": one(f"SELECT COUNT(*) FROM {name} WHERE " + " OR ".join(checks)) if checks else 0,
        }
        if name == "responses":
            f["by_channel"] = pairs("SELECT channel, COUNT(*) FROM responses GROUP BY channel")
            f["trust_sum"] = one("SELECT COALESCE(SUM(trust), 0) FROM responses")
            f["trust_positive"] = one("SELECT COUNT(*) FROM responses WHERE trust_positive")
            f["submitted_ms_sum"] = one("SELECT SUM(epoch_ms(submitted_at)) FROM responses")
            f["themes"] = one("SELECT SUM(len(themes)) FROM responses")
            f["persons"] = one("SELECT COUNT(DISTINCT person_key) FROM responses")
        elif name == "response_answers":
            f["responses"] = one("SELECT COUNT(DISTINCT response_id) FROM response_answers")
            f["value_number_sum"] = one("SELECT COALESCE(SUM(value_number), 0) FROM response_answers")
        elif name == "signals":
            f["by_source"] = pairs("SELECT source, COUNT(*) FROM signals GROUP BY source")
            f["urgent"] = one("SELECT COUNT(*) FROM signals WHERE urgent")
            f["occurred_ms_sum"] = one("SELECT SUM(epoch_ms(occurred_at)) FROM signals")
            f["themes"] = one("SELECT SUM(len(themes)) FROM signals")
        elif name == "events":
            f["by_type"] = pairs('SELECT "type", COUNT(*) FROM events GROUP BY "type"')
            f["measure_sums"] = pairs(
                "SELECT m.key, SUM(m.value) FROM (SELECT unnest(map_entries(measures)) AS m FROM events) "
                "GROUP BY m.key"
            )
            f["occurred_ms_sum"] = one("SELECT SUM(epoch_ms(occurred_at)) FROM events")
            f["with_person"] = one("SELECT COUNT(*) FROM events WHERE person_key IS NOT NULL")
        result[name] = f
    with open(out, "w") as fh:
        json.dump(result, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
