#!/usr/bin/env python3
"""Check the public-service feedback set (data/service-feedback/{dev,heldout}.tsv) and print its counts.

Usage: scripts/check-service-feedback.py [--shared DIR] [--markdown]

Checks: the header and column count, one row per line, label vocabularies, theme ids against
crates/heard-text/data/taxonomy.txt, the labelling guide's fixed pairs (kind -> sentiment and intent, praise
exactly on positive compliments), id format and uniqueness across both files, no duplicate texts
(case and punctuation ignored) within or across the files, and source_ref format. When the shared
evaluation data is present (default ../shared/data from the repository root), every CFPB row's text
must be the start of that complaint's narrative (whitespace collapsed) and every UCI row's text must
equal the sentence at that index. Exits 1 on any error. Standard library only.
"""
import argparse
import collections
import csv
import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FILES = ("dev.tsv", "heldout.tsv")
HEADER = ["id", "lang", "source", "source_ref", "kind", "sentiment", "intent", "themes", "text"]
LANGS = {"en", "es"}
SOURCES = {"cfpb", "uci-yelp", "uci-amazon", "team"}
KINDS = ["service_failure_fact", "politeness_in_complaint", "sarcasm", "request_or_suggestion", "non_answer",
         "negated_negative", "mixed", "spanish_fact_complaint", "plain_negative", "plain_positive", "question",
         "other"]
SENTIMENTS = ["negative", "neutral", "positive"]
INTENTS = ["complaint", "compliment", "question", "suggestion", "request_for_help", "none"]


def norm_ws(text):
    return re.sub(r"\s+", " ", text).strip()


def text_key(text):
    return re.sub(r"[^\w]+", " ", text.lower()).strip()


def taxonomy_ids():
    path = os.path.join(ROOT, "crates", "heard-text", "data", "taxonomy.txt")
    ids = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            m = re.match(r"\[([a-z_]+)\]", line.strip())
            if m:
                ids.append(m.group(1))
    return ids


def read_rows(path, errors):
    rows = []
    with open(path, encoding="utf-8", newline="") as fh:
        lines = fh.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines or lines[0].split("\t") != HEADER:
        errors.append(f"{path}: header must be: {' '.join(HEADER)}")
        return rows
    for n, line in enumerate(lines[1:], 2):
        cells = line.split("\t")
        if len(cells) != len(HEADER):
            errors.append(f"{path}:{n}: expected {len(HEADER)} tab-separated fields, found {len(cells)}")
            continue
        row = dict(zip(HEADER, cells))
        row["_where"] = f"{os.path.basename(path)}:{n}"
        rows.append(row)
    return rows


def check_row(row, themes_ok, errors):
    w = row["_where"]

    def bad(field, why):
        errors.append(f"{w}: {field} {why} (id {row['id'] or '?'})")

    m = re.fullmatch(r"sf-(en|es)-(\d{4})", row["id"])
    if not m:
        bad("id", f"'{row['id']}' is not sf-<lang>-NNNN")
    elif m.group(1) != row["lang"]:
        bad("id", f"language part does not match lang '{row['lang']}'")
    if row["lang"] not in LANGS:
        bad("lang", f"'{row['lang']}' not in {sorted(LANGS)}")
    if row["source"] not in SOURCES:
        bad("source", f"'{row['source']}' not in {sorted(SOURCES)}")
    ref = row["source_ref"]
    if row["source"] == "cfpb" and not re.fullmatch(r"\d+", ref):
        bad("source_ref", "must be the CFPB complaint_id for source cfpb")
    if row["source"].startswith("uci-"):
        want = row["source"].split("-", 1)[1]
        if not re.fullmatch(rf"{want}\.json#\d+", ref):
            bad("source_ref", f"must be {want}.json#<index> for source {row['source']}")
    if row["source"] == "team" and ref:
        bad("source_ref", "must be empty for team-written items")
    if row["kind"] not in KINDS:
        bad("kind", f"'{row['kind']}' not in the kind list")
    if row["kind"] == "spanish_fact_complaint" and row["lang"] != "es":
        bad("kind", "spanish_fact_complaint is only for lang es")
    if row["sentiment"] not in SENTIMENTS:
        bad("sentiment", f"'{row['sentiment']}' not in {SENTIMENTS}")
    if row["intent"] not in INTENTS:
        bad("intent", f"'{row['intent']}' not in {INTENTS}")
    if row["themes"]:
        seen = set()
        for t in row["themes"].split(","):
            if t not in themes_ok:
                bad("themes", f"'{t}' is not a theme id in taxonomy.txt")
            if t in seen:
                bad("themes", f"'{t}' listed twice")
            seen.add(t)
    # Rules of the labelling guide in data/README.md that the labels must keep.
    kind, sent, intent = row["kind"], row["sentiment"], row["intent"]
    must = {
        "service_failure_fact": ({"negative"}, {"complaint", "request_for_help"}),
        "spanish_fact_complaint": ({"negative"}, {"complaint", "request_for_help"}),
        "politeness_in_complaint": ({"negative"}, {"complaint", "request_for_help"}),
        "sarcasm": ({"negative"}, {"complaint"}),
        "request_or_suggestion": ({"neutral"}, {"suggestion", "question", "request_for_help"}),
        "question": ({"neutral"}, {"question"}),
        "non_answer": ({"neutral"}, {"none"}),
        "negated_negative": ({"positive"}, {"compliment"}),
        "mixed": ({"neutral"}, set(INTENTS)),
    }
    if kind in must:
        sents, intents = must[kind]
        if sent not in sents:
            bad("sentiment", f"'{sent}' breaks the guide for kind {kind} (expected {'/'.join(sorted(sents))})")
        if intent not in intents:
            bad("intent", f"'{intent}' breaks the guide for kind {kind} (expected {'/'.join(sorted(intents))})")
    has_praise = "praise" in row["themes"].split(",")
    if has_praise != (sent == "positive" and intent == "compliment"):
        bad("themes", "praise must be present exactly on positive compliments")
    text = row["text"]
    if not text.strip():
        bad("text", "is empty")
    elif text != text.strip() or "  " in text:
        bad("text", "has leading, trailing or doubled spaces")


def verify_sources(rows, shared, errors):
    cfpb_path = os.path.join(shared, "complaints", "cfpb_narratives_with_labels.csv")
    narratives = {}
    with open(cfpb_path, encoding="utf-8", newline="") as fh:
        for r in csv.DictReader(fh):
            narratives[r["complaint_id"]] = norm_ws(r["narrative"])
    uci = {}
    for name in ("yelp", "amazon"):
        with open(os.path.join(shared, "sentiment", "uci", f"{name}.json"), encoding="utf-8") as fh:
            uci[name] = json.load(fh)
    checked = 0
    for row in rows:
        if row["source"] == "cfpb":
            full = narratives.get(row["source_ref"])
            if full is None:
                errors.append(f"{row['_where']}: source_ref {row['source_ref']} is not a CFPB complaint_id in {cfpb_path}")
            elif not full.startswith(row["text"]):
                errors.append(f"{row['_where']}: text is not the start of CFPB complaint {row['source_ref']}")
            checked += 1
        elif row["source"].startswith("uci-"):
            name, idx = row["source_ref"].split(".json#")
            items = uci[name]
            i = int(idx)
            if i >= len(items) or not items[i] or norm_ws(items[i].get("text", "")) != row["text"]:
                errors.append(f"{row['_where']}: text differs from {name}.json item {i}")
            checked += 1
    return checked


def table(title, counter_by_file, keys, markdown):
    out = []
    if markdown:
        out.append(f"| {title} | dev | heldout | total |")
        out.append("|---|---:|---:|---:|")
    else:
        out.append(f"{title:<28} {'dev':>6} {'heldout':>8} {'total':>6}")
    for k in keys:
        d, h = counter_by_file["dev.tsv"][k], counter_by_file["heldout.tsv"][k]
        if d + h == 0:
            continue
        if markdown:
            out.append(f"| {k} | {d} | {h} | {d + h} |")
        else:
            out.append(f"{k:<28} {d:>6} {h:>8} {d + h:>6}")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shared", default=os.path.join(ROOT, "..", "shared", "data"),
                    help="shared evaluation data folder (default: ../shared/data from the repository root)")
    ap.add_argument("--markdown", action="store_true", help="print the count tables as Markdown")
    args = ap.parse_args()

    themes = taxonomy_ids()
    errors = []
    by_file = {}
    for name in FILES:
        path = os.path.join(ROOT, "data", "service-feedback", name)
        if not os.path.exists(path):
            errors.append(f"{path}: missing")
            by_file[name] = []
            continue
        by_file[name] = read_rows(path, errors)
    allrows = by_file["dev.tsv"] + by_file["heldout.tsv"]
    ids, texts = {}, {}
    for row in allrows:
        check_row(row, set(themes), errors)
        if row["id"] in ids:
            errors.append(f"{row['_where']}: id {row['id']} already used at {ids[row['id']]}")
        ids.setdefault(row["id"], row["_where"])
        k = text_key(row["text"])
        if k in texts:
            errors.append(f"{row['_where']}: duplicate text (same as {texts[k]}): {row['text'][:60]}")
        texts.setdefault(k, row["_where"])

    if os.path.isdir(args.shared):
        n = verify_sources(allrows, args.shared, errors)
        source_note = f"source texts verified against the shared data: {n} rows"
    else:
        source_note = f"shared data not found at {args.shared}: CFPB/UCI texts not re-checked"

    counts = collections.defaultdict(lambda: collections.defaultdict(collections.Counter))
    for name, rows in by_file.items():
        for r in rows:
            for col in ("lang", "source", "kind", "sentiment", "intent"):
                counts[col][name][r[col]] += 1
            counts["lang x sentiment"][name][f"{r['lang']} {r['sentiment']}"] += 1
            counts["lang x source"][name][f"{r['lang']} {r['source']}"] += 1
            for t in (r["themes"].split(",") if r["themes"] else ["(none)"]):
                counts["themes"][name][t] += 1
    orders = {
        "lang": sorted(LANGS), "source": sorted(SOURCES), "kind": KINDS, "sentiment": SENTIMENTS,
        "intent": INTENTS, "lang x sentiment": [f"{l} {s}" for l in sorted(LANGS) for s in SENTIMENTS],
        "lang x source": [f"{l} {s}" for l in sorted(LANGS) for s in sorted(SOURCES)],
        "themes": themes + ["(none)"],
    }
    print(f"dev.tsv: {len(by_file['dev.tsv'])} items; heldout.tsv: {len(by_file['heldout.tsv'])} items; "
          f"total {len(allrows)}")
    print(source_note)
    for col, keys in orders.items():
        print()
        print(table(col, counts[col], keys, args.markdown))
    if errors:
        print(f"\n{len(errors)} error(s):", file=sys.stderr)
        for e in errors[:200]:
            print("  " + e, file=sys.stderr)
        sys.exit(1)
    print("\nOK: no errors")


if __name__ == "__main__":
    main()
