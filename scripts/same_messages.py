#!/usr/bin/env python3
"""Compare `rivsim validate` between two binaries on broken variants of a scenario.

Each line of the scenario TOML that sets a key is broken in turn (deleted, its number set to -1 and to 1e300,
its first quoted id replaced by "ZZ", its key renamed), the variant is validated by both binaries, and every
variant whose report differs is printed as the lines that differ. Used to show that a change of the validation
code keeps every message, or changes only those it means to.

    scripts/same_messages.py OLD_BIN NEW_BIN scenarios/district/scenario.toml

The scenario's folder is copied to a temporary folder (the CSV and series files it names come along).
"""
import difflib
import os
import re
import shutil
import subprocess
import sys
import tempfile


def variants(lines):
    for i, line in enumerate(lines):
        if line.strip().startswith("#") or "=" not in line:
            continue
        yield i, None
        m = re.search(r"= *(-?[0-9.]+)", line)
        if m:
            yield i, line[: m.start(1)] + "-1" + line[m.end(1):]
            yield i, line[: m.start(1)] + "1e300" + line[m.end(1):]
        m = re.search(r'"([A-Za-z0-9_-]+)"', line)
        if m:
            yield i, line[: m.start(1)] + "ZZ" + line[m.end(1):]
        m = re.search(r"(\w+) *=", line)
        if m:
            yield i, line[: m.start(1)] + "bogus_key" + line[m.end(1):]


def main():
    old, new, scenario = sys.argv[1:4]
    work = tempfile.mkdtemp(prefix="rivsim-messages.")
    try:
        folder = os.path.join(work, "s")
        shutil.copytree(os.path.dirname(os.path.abspath(scenario)), folder)
        target = os.path.join(folder, os.path.basename(scenario))
        lines = open(scenario, encoding="utf-8").read().split("\n")
        count = differ = 0
        for i, rep in variants(lines):
            count += 1
            mod = list(lines)
            if rep is None:
                del mod[i]
            else:
                mod[i] = rep
            with open(target, "w", encoding="utf-8") as f:
                f.write("\n".join(mod))
            outs = []
            for b in (old, new):
                r = subprocess.run([b, "validate", target], capture_output=True, text=True)
                outs.append((r.returncode, (r.stdout + r.stderr).split("\n")))
            if outs[0] != outs[1]:
                differ += 1
                what = "deleted" if rep is None else rep.strip()[:80]
                print(f"=== line {i + 1}: {what} (exit {outs[0][0]} vs {outs[1][0]})")
                for d in difflib.unified_diff(outs[0][1], outs[1][1], lineterm="", n=0):
                    if d[:1] in "+-" and not d.startswith(("+++", "---")):
                        print(d[:240])
        print(f"{count} variants, {differ} with a different report")
        return 1 if differ else 0
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    sys.exit(main())
