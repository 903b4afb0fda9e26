#!/usr/bin/env python3
"""Run `cmasim diagnose --json` on every NAME.log of a field corpus and compare with NAME.expected.json.

usage: field_corpus.py CMASIM CORPUS_DIR [--only NAME]...

NAME.expected.json: {"exit": 0|3, "areas": [{"name", "base", "size"}...],
                     "findings": [{"cause", "why", "area", "count", "errno", "occurrences", "suppressed"}...]}
The exit code, the areas (name, base, size) and the findings' listed fields must be exactly equal lists.
Prints one line per case (`ok NAME: …` / `FAIL NAME: …`); exits 1 if any case fails, 0 otherwise
(2 when the corpus or a named case is missing).
"""
import argparse
import json
import os
import subprocess
import sys

AREA_FIELDS = ("name", "base", "size")
FINDING_FIELDS = ("cause", "why", "area", "count", "errno", "occurrences", "suppressed")


def as_int(v):
    """base/size may be printed as numbers or as "0x…" strings; compare them as integers."""
    if isinstance(v, str):
        try:
            return int(v, 0)
        except ValueError:
            return v
    return v


def pick(d, fields, ints=()):
    return {k: (as_int(d.get(k)) if k in ints else d.get(k)) for k in fields}


def run_case(cmasim, corpus, name):
    log = os.path.join(corpus, name + ".log")
    with open(os.path.join(corpus, name + ".expected.json")) as f:
        exp = json.load(f)
    p = subprocess.run([cmasim, "diagnose", "--json", log], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    problems = []
    if p.returncode != exp["exit"]:
        problems.append("exit: expected %s got %s" % (exp["exit"], p.returncode))
    try:
        got = json.loads(p.stdout.decode("utf-8", "replace"))
    except ValueError as e:
        err = p.stderr.decode("utf-8", "replace").strip().splitlines()
        problems.append("output is not JSON (%s)%s" % (e, ": " + err[-1] if err else ""))
        return False, "; ".join(problems)
    areas = [pick(a, AREA_FIELDS, ("base", "size")) for a in got.get("areas", [])]
    want_areas = [pick(a, AREA_FIELDS, ("base", "size")) for a in exp["areas"]]
    if areas != want_areas:
        problems.append("areas: expected %s got %s" % (json.dumps(want_areas), json.dumps(areas)))
    findings = [pick(x, FINDING_FIELDS) for x in got.get("findings", [])]
    want = [pick(x, FINDING_FIELDS) for x in exp["findings"]]
    if findings != want:
        problems.append("findings: expected %s got %s" % (json.dumps(want), json.dumps(findings)))
    if problems:
        return False, "; ".join(problems)
    causes = ", ".join(f["cause"] + ("/" + f["why"] if f.get("why") else "") for f in want) or "no findings"
    return True, "exit %d, %s" % (exp["exit"], causes)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cmasim")
    ap.add_argument("corpus")
    ap.add_argument("--only", action="append", default=[], metavar="NAME", help="run only this case (repeatable)")
    a = ap.parse_args()
    if not os.path.isdir(a.corpus):
        print("no corpus directory %s" % a.corpus, file=sys.stderr)
        return 2
    names = sorted(f[:-4] for f in os.listdir(a.corpus) if f.endswith(".log"))
    if a.only:
        missing = [n for n in a.only if n not in names]
        if missing:
            print("no such case: %s" % ", ".join(missing), file=sys.stderr)
            return 2
        names = [n for n in names if n in a.only]
    failed = 0
    for n in names:
        try:
            ok, msg = run_case(a.cmasim, a.corpus, n)
        except (OSError, ValueError, KeyError) as e:
            ok, msg = False, "cannot run: %s" % e
        print("%s %s: %s" % ("ok" if ok else "FAIL", n, msg))
        failed += not ok
    if failed:
        print("%d of %d cases failed" % (failed, len(names)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
