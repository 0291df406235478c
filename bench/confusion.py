#!/usr/bin/env python3
"""Confusion table and headline figures from `mailwarden scan` JSON lines.

Usage: confusion.py LABELS.tsv SCAN.jsonl...
Expected mapping (../shared/corpus/README.md): ham should be NONE or BULK; spam is
caught as SPAM, BULK, SUSPICIOUS, MALICIOUS or SPOOF; phish is flagged as
MALICIOUS, SUSPICIOUS or SPOOF.
"""
import json, os, sys, collections

labels_path, scans = sys.argv[1], sys.argv[2:]
root = os.path.dirname(os.path.abspath(labels_path))
label = {}
for line in open(labels_path):
    cls, path = line.rstrip("\n").split("\t")
    if cls != "class":
        label[os.path.normpath(os.path.join(root, path))] = cls
table = collections.defaultdict(collections.Counter)
errors = 0
for s in scans:
    for line in open(s):
        d = json.loads(line)
        cls = label.get(os.path.normpath(os.path.abspath(d["file"])))
        if cls is None:
            continue
        if "error" in d:
            errors += 1
            table[cls]["ERROR"] += 1
            continue
        table[cls][d["disposition"]] += 1
disps = ["MALICIOUS", "SUSPICIOUS", "SPOOF", "SPAM", "BULK", "NONE", "ERROR"]
print("| class | n | " + " | ".join(disps) + " |")
print("|---|---:|" + "---:|" * len(disps))
for cls in ["ham", "spam", "phish"]:
    n = sum(table[cls].values())
    print(f"| {cls} | {n} | " + " | ".join(str(table[cls][d]) for d in disps) + " |")
def count(cls, good):
    n = sum(table[cls].values())
    return sum(table[cls][d] for d in good), n
def show(label, cls, good, complement=False):
    k, n = count(cls, good)
    if complement:
        k = n - k
    pct = 100.0 * k / n if n else float("nan")
    print(f"- {label}: {pct:.3f}% ({k}/{n})")
print()
show("ham false positives (anything but NONE or BULK)", "ham", ["NONE", "BULK"], complement=True)
show("spam caught (SPAM, BULK, SUSPICIOUS, MALICIOUS, SPOOF)", "spam", ["SPAM", "BULK", "SUSPICIOUS", "MALICIOUS", "SPOOF"])
show("phish flagged (MALICIOUS, SUSPICIOUS, SPOOF)", "phish", ["MALICIOUS", "SUSPICIOUS", "SPOOF"])
