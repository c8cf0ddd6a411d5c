#!/usr/bin/env python3
"""Branch coverage of include/strata/ read from gcov's own JSON records.

    scripts/branch_coverage.py BUILD_DIR [--json OUT]

Why not gcovr's branch figure (ADR 19): gcovr 5.2 reads gcov's text output,
where a line of a header that several template instantiations or several
translation units share lists their branches one after another; gcovr then
merges those lists across translation units by position, so one line of
json_codec.hpp counts 153 branches where the compiler recorded 68 in any one
unit. This script counts what the compiler recorded:

  * a branch belongs to one function instance (its mangled name): f<int> and
    f<std::string> are two functions, and each of their branches must be
    taken to count, so templates are not flattered by merging instantiations;
  * the copies of one inline function instance that each translation unit
    compiles (the linker keeps one, the others' counters stay at zero) are one
    function: a branch is taken when any copy took it;
  * a line gcov attributes to no function is keyed by its branch count, so
    only copies of the same code are merged;
  * branches that exist only for exception unwinding are not counted (as
    gcovr's --exclude-throw-branches).
"""
import collections
import concurrent.futures
import glob
import json
import os
import subprocess
import sys

# The downstream kit is test and benchmark code, not library (scripts/coverage.sh).
KIT = ("include/strata/testing/", "include/strata/bench/")


def gcov_json(gcda):
    """gcov's JSON records (one document per line) for one .gcda file."""
    out = subprocess.run(
        ["gcov", "--branch-probabilities", "--json-format", "--stdout",
         "--object-directory", os.path.dirname(gcda), gcda],
        capture_output=True, text=True, check=False).stdout
    return [json.loads(doc) for doc in out.splitlines() if doc.strip()]


def main():
    build = sys.argv[1]
    out_json = sys.argv[sys.argv.index("--json") + 1] if "--json" in sys.argv else None
    gcdas = glob.glob(os.path.join(build, "**", "*.gcda"), recursive=True)
    if not gcdas:
        sys.exit(f"branch_coverage: no .gcda files under {build}: run the coverage build first")
    # (file, line, function instance) -> taken flag per branch, ORed over copies
    taken = {}
    with concurrent.futures.ThreadPoolExecutor(os.cpu_count()) as pool:
        for docs in pool.map(gcov_json, gcdas):
            for doc in docs:
                for record in doc["files"]:
                    name = record["file"]
                    at = name.find("include/strata/")
                    if at < 0:
                        continue
                    name = name[at:]
                    if name.startswith(KIT):
                        continue
                    for line in record["lines"]:
                        branches = [b for b in line["branches"] if not b.get("throw")]
                        if not branches:
                            continue
                        function = line.get("function_name") or f"#{len(branches)}"
                        key = (name, line["line_number"], function)
                        flags = taken.setdefault(key, [False] * len(branches))
                        for i, branch in enumerate(branches):
                            flags[i] = flags[i] or branch["count"] > 0
    per_file = collections.defaultdict(lambda: [0, 0])
    for (name, _, _), flags in taken.items():
        per_file[name][0] += sum(flags)
        per_file[name][1] += len(flags)
    covered = sum(c for c, _ in per_file.values())
    total = sum(t for _, t in per_file.values())
    percent = 100.0 * covered / total if total else 0.0
    print(f"branches per function instance (gcov JSON): {percent:.1f}% ({covered}/{total})")
    if out_json:
        with open(out_json, "w") as f:
            json.dump({"branch_covered": covered, "branch_total": total, "branch_percent": percent,
                       "files": {n: {"covered": c, "total": t} for n, (c, t) in sorted(per_file.items())}},
                      f, indent=1)


if __name__ == "__main__":
    main()
