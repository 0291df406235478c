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
def rate(cls, good):
    n = sum(table[cls].values())
    return 100.0 * sum(table[cls][d] for d in good) / n if n else float("nan")
print()
print(f"- ham false positives (anything but NONE or BULK): {100 - rate('ham', ['NONE', 'BULK']):.2f}%")
print(f"- spam caught (SPAM, BULK, SUSPICIOUS, MALICIOUS, SPOOF): {rate('spam', ['SPAM', 'BULK', 'SUSPICIOUS', 'MALICIOUS', 'SPOOF']):.2f}%")
print(f"- phish flagged (MALICIOUS, SUSPICIOUS, SPOOF): {rate('phish', ['MALICIOUS', 'SUSPICIOUS', 'SPOOF']):.2f}%")
