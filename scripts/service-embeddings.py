#!/usr/bin/env python3
"""Distils static word vectors from all-MiniLM-L6-v2 for Heard's service model.

Each word of a fixed vocabulary is run alone through the sentence model ("[CLS] word [SEP]", mean
pooled and normalised as sentence-transformers does), the vectors are reduced by PCA and quantised
to one signed byte per dimension, and written to crates/heard-text/data/word_vectors.bin (format
in crates/heard-text/data/README.md). The model runs here only, with numpy; Heard reads the file.

The vocabulary: the model's own whole-word tokens, the words of Heard's lexicons and taxonomy,
and the words of the development set (data/service-feedback/dev.tsv) and of the shared corpora
(../shared/data) seen at least twice. Never the held-out set.

Usage: service-embeddings.py MODEL_DIR SHARED_DATA OUT   (scripts/service-embeddings.sh runs it)
"""

import collections
import csv
import json
import math
import re
import struct
import sys
import unicodedata
from pathlib import Path

import numpy as np

DIMS = 64
# A word's vector is scaled by A / (A + p(word)) (Arora et al. 2017, "A simple but tough-to-beat
# baseline for sentence embeddings"), p from the corpora's word counts, so frequent words weigh less.
SIF_A = 1e-3
ROOT = Path(__file__).resolve().parent.parent


def words(s):
    """Heard's word splitting (tokens.rs): letters and digits, with ' ’ . - between them."""
    return re.findall(r"[^\W_]+(?:['’.\-][^\W_]+)*", s.lower())


def load_safetensors(path):
    raw = path.read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8 : 8 + n])
    out = {}
    for name, t in header.items():
        if name == "__metadata__" or t["dtype"] != "F32":
            continue
        a, b = t["data_offsets"]
        out[name] = np.frombuffer(raw[8 + n + a : 8 + n + b], dtype="<f4").reshape(t["shape"])
    return out


class WordPiece:
    """BERT's uncased tokenizer for one word: lower case, accents stripped, punctuation split off,
    then greedy longest-match word pieces."""

    def __init__(self, vocab_path):
        self.vocab = {}
        for i, line in enumerate(vocab_path.read_text(encoding="utf-8").splitlines()):
            self.vocab[line] = i

    def ids(self, word):
        text = unicodedata.normalize("NFD", word.lower())
        text = "".join(c for c in text if unicodedata.category(c) != "Mn")
        pieces = []
        for tok in re.findall(r"\w+|[^\w\s]", text):
            start, sub = 0, []
            while start < len(tok):
                end = len(tok)
                cur = None
                while start < end:
                    s = tok[start:end] if start == 0 else "##" + tok[start:end]
                    if s in self.vocab:
                        cur = self.vocab[s]
                        break
                    end -= 1
                if cur is None:
                    sub = [self.vocab["[UNK]"]]
                    break
                sub.append(cur)
                start = end
            pieces.extend(sub)
        return [self.vocab["[CLS]"]] + pieces[:30] + [self.vocab["[SEP]"]]


def layer_norm(x, w, b, eps=1e-12):
    m = x.mean(-1, keepdims=True)
    v = ((x - m) ** 2).mean(-1, keepdims=True)
    return (x - m) / np.sqrt(v + eps) * w + b


def gelu(x):
    # erf by Abramowitz and Stegun 7.1.26 (error below 1.5e-7): numpy has no erf.
    z = x / math.sqrt(2.0)
    s = np.sign(z)
    a = np.abs(z)
    t = 1.0 / (1.0 + 0.3275911 * a)
    y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * np.exp(-a * a)
    return 0.5 * x * (1.0 + s * y)


def encode(w, ids):
    """Mean-pooled, normalised sentence vectors of a batch of token-id lists of equal length."""
    x = np.array(ids)
    b, n = x.shape
    h = w["embeddings.word_embeddings.weight"][x] + w["embeddings.position_embeddings.weight"][:n] + w["embeddings.token_type_embeddings.weight"][0]
    h = layer_norm(h, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
    heads, d = 12, 384 // 12
    for i in range(6):
        p = f"encoder.layer.{i}."
        # As 2-D products with contiguous transposed weights: numpy's stacked matmul over a
        # transposed view skips BLAS and is a hundred times slower.
        def lin(t, name):
            wt = np.ascontiguousarray(w[p + name + ".weight"].T)
            return (t.reshape(-1, t.shape[-1]) @ wt).reshape(*t.shape[:-1], wt.shape[1]) + w[p + name + ".bias"]

        q = lin(h, "attention.self.query").reshape(b, n, heads, d).transpose(0, 2, 1, 3)
        k = lin(h, "attention.self.key").reshape(b, n, heads, d).transpose(0, 2, 1, 3)
        v = lin(h, "attention.self.value").reshape(b, n, heads, d).transpose(0, 2, 1, 3)
        a = q @ k.transpose(0, 1, 3, 2) / math.sqrt(d)
        a = np.exp(a - a.max(-1, keepdims=True))
        a /= a.sum(-1, keepdims=True)
        c = (a @ v).transpose(0, 2, 1, 3).reshape(b, n, 384)
        h = layer_norm(lin(c, "attention.output.dense") + h, w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"])
        f = lin(gelu(lin(h, "intermediate.dense")), "output.dense")
        h = layer_norm(f + h, w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"])
    m = h.mean(1)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


def corpus_texts(shared):
    out = []
    dev = ROOT / "data/service-feedback/dev.tsv"
    with dev.open(encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
            out.append(row["text"])
    for p in sorted((shared / "sentiment/vader").glob("*_GroundTruth.txt")):
        for line in p.read_text(encoding="utf-8", errors="replace").splitlines():
            parts = line.split("\t")
            if len(parts) >= 3:
                out.append(parts[2])
    for p in sorted((shared / "sentiment/uci").glob("*.json")):
        for x in json.loads(p.read_text(encoding="utf-8")):
            if x.get("text"):
                out.append(x["text"])
    csv.field_size_limit(1 << 24)
    with (shared / "complaints/cfpb_narratives_with_labels.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            out.append(row.get("narrative") or row.get("consumer_complaint_narrative") or "")
    return out


def main():
    model_dir, shared, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    tok = WordPiece(model_dir / "vocab.txt")
    counts = collections.Counter()
    for t in corpus_texts(shared):
        counts.update(words(t))
    vocab = {w for w, c in counts.items() if c >= 2}
    for line in (model_dir / "vocab.txt").read_text(encoding="utf-8").splitlines():
        if re.fullmatch(r"[a-z][a-z']+", line):
            vocab.add(line)
    data = ROOT / "crates/heard-text/data"
    for name in ["lexicon_en.tsv", "lexicon_es.tsv", "lexicon_domain.tsv"]:
        for line in (data / name).read_text(encoding="utf-8").splitlines():
            if line and not line.startswith("#"):
                vocab.update(words(line.split("\t")[0]))
    vocab.update(words((data / "taxonomy.txt").read_text(encoding="utf-8")))
    # Digits read as one token in the model; numbers carry no meaning of their own here.
    vocab = sorted(w for w in vocab if not w.isdigit() and len(w.encode()) < 64)
    print(f"{len(vocab)} words", file=sys.stderr)
    weights = load_safetensors(model_dir / "model.safetensors")
    by_len = collections.defaultdict(list)
    for i, w in enumerate(vocab):
        by_len[len(tok.ids(w))].append(i)
    vecs = np.zeros((len(vocab), 384), dtype=np.float32)
    for n, idx in sorted(by_len.items()):
        for s in range(0, len(idx), 256):
            part = idx[s : s + 256]
            vecs[part] = encode(weights, [tok.ids(vocab[i]) for i in part])
    # PCA over the vocabulary, then the SIF weight.
    mean = vecs.mean(0)
    _, _, vt = np.linalg.svd(vecs - mean, full_matrices=False)
    red = (vecs - mean) @ vt[:DIMS].T
    total = sum(counts.values())
    sif = np.array([SIF_A / (SIF_A + counts.get(w, 0) / total) for w in vocab], dtype=np.float32)
    red *= sif[:, None]
    scale = np.abs(red).max(0) / 127.0
    q = np.clip(np.round(red / scale), -127, 127).astype(np.int8)
    with open(out, "wb") as f:
        f.write(b"HWV1")
        f.write(struct.pack("<II", DIMS, len(vocab)))
        f.write(scale.astype("<f4").tobytes())
        for w, row in zip(vocab, q):
            b = w.encode()
            f.write(struct.pack("<B", len(b)))
            f.write(b)
            f.write(row.tobytes())
    print(f"wrote {out}: {len(vocab)} words x {DIMS} dims", file=sys.stderr)


if __name__ == "__main__":
    main()
