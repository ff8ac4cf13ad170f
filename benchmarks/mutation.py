"""Mutation testing of the numeric core with mutmut (``make mutate``, outside ``make test``).

Each scope (a set of modules and the tests that should catch their bugs) runs mutmut in its
own scratch copy of the project under ``build/mutate/<scope>/``: mutmut reads its settings
from the working directory's pyproject.toml and writes ``mutants/`` there. Survivors judged
equivalent (no test could tell them apart) are listed with a reason in
``benchmarks/mutation_equivalent.json``, each by its function and its one-line change (mutmut
numbers a function's mutants in order, so a number shifts when the function is edited);
every other survivor counts against the kill rate.

    python benchmarks/mutation.py [--scopes numeric,custom_op,...] [--sample N] [--merge]

``--sample N`` runs a seeded random sample of N mutants of each scope (for the scopes whose
tests take minutes per mutant); the JSON then records the sample and the 95% interval of
the kill rate. ``--merge`` keeps the scopes of an earlier run in the JSON.

Writes ``benchmarks/results/mutation.json``: per scope the mutants, killed (including those
that time out), survived, equivalent, no tests, the kill rate of the non-equivalent mutants,
and each survivor's diff.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from common import RESULTS, write_result

from addnn.atomic import atomic_write_text

ROOT = Path(__file__).resolve().parents[1]

# scope -> (modules to mutate, tests that run against them, target kill rate). The HLS
# scope runs the Python-side tests of the generator and the estimator (no g++: a compile per
# mutant would take hours).
SCOPES = {
    "numeric": (["src/addnn/numeric.py"],
                ["tests/test_numeric.py", "tests/quant/test_bn_against_torch.py"], 0.95),
    "custom_op": (["src/addnn/custom_op/*"], ["tests/custom_op", "tests/transform"], 0.95),
    "transform": (["src/addnn/transform/*"], ["tests/transform"], 0.95),
    "ops": (["src/addnn/ops/reference.py", "src/addnn/ops/sad_torch.py",
             "src/addnn/ops/shapes.py", "src/addnn/ops/adder_autograd.py"],
            ["tests/ops", "tests/nn", "tests/export"], 0.90),
    "train": (["src/addnn/train/loop.py", "src/addnn/train/distributed.py",
               "src/addnn/data/loader.py"], ["tests/train"], 0.90),
    "hls": (["src/addnn/hls/progression.py", "src/addnn/hls/depths.py",
             "src/addnn/hls/carrays.py", "src/addnn/hls/folding.py"],
            ["tests/hls", "tests/estimate", "-m", "not gxx"], 0.90),
}
# Tests that run the code in a child process (torchrun): mutmut's coverage stats cannot see
# what a child calls, so these are added to every function of their scope, and the child
# imports the mutated copy through PYTHONPATH.
SUBPROCESS_TESTS = {"train": ["tests/train/test_loop.py::test_ddp_two_processes",
                              "tests/train/test_loop.py::test_ddp_ranks_train_on_disjoint_halves"]}
EQUIVALENT = ROOT / "benchmarks" / "mutation_equivalent.json"
STATUS = {"killed": "killed", "timeout": "killed", "survived": "survived",
          "no tests": "no_tests", "suspicious": "survived", "skipped": "skipped",
          "segfault": "killed", "check was interrupted by user": "interrupted",
          "not checked": None}
NO_MATCH = "addnn.zz_no_such_mutant"   # mutmut generates and collects stats, then stops


def _config(modules: list[str], tests: list[str]) -> str:
    quoted = lambda items: ", ".join(json.dumps(i) for i in items)  # noqa: E731
    return ("\n[tool.mutmut]\nsource_paths = [\"src/addnn\"]\n"
            f"only_mutate = [{quoted(modules)}]\n"
            f"pytest_add_cli_args_test_selection = [{quoted(tests)}]\n"
            # A killed mutant's failure is not shrunk (tests/conftest.py's profile).
            "pytest_add_cli_args = [\"-x\", \"-q\", \"-p\", \"no:cacheprovider\", "
            "\"--hypothesis-profile=mutation\"]\n"
            "also_copy = [\"assets\", \"README.md\"]\n"
            # torch and OpenMP are not fork-safe once their thread pools run: fork the
            # workers from a clean server process.
            "process_isolation = \"forkserver\"\n"
            # An infinite-loop mutant is stopped after 6x its tests' CPU time, not mutmut's
            # default 30x: the bisections and while-loops of the contract give many of them.
            "timeout_multiplier = 3.0\n")


def _scratch(scope: str, modules: list[str], tests: list[str]) -> Path:
    work = ROOT / "build" / "mutate" / scope
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    for name in ("src", "tests", "assets"):
        shutil.copytree(ROOT / name, work / name,
                        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    shutil.copy2(ROOT / "README.md", work / "README.md")     # some tests read it
    text = (ROOT / "pyproject.toml").read_text()
    (work / "pyproject.toml").write_text(text + _config(modules, tests))
    return work


def _mutmut(work: Path, *args: str, check: bool = True) -> str:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "CI": "true",
           "PYTHONPATH": str(work / "mutants" / "src")}
    exe = Path(sys.executable).with_name("mutmut")
    proc = subprocess.run([str(exe), *args], cwd=work, env=env, capture_output=True,
                          text=True)
    if check and proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        raise SystemExit(f"mutate: mutmut {' '.join(args)} failed in {work}: "
                         + " | ".join(tail))
    return proc.stdout


def _listing(work: Path, raw: bool = False) -> dict[str, str | None]:
    """Every mutant of the scratch copy and its status (None: not run); ``raw``: mutmut's own
    word for it (a timeout is then not yet counted as killed)."""
    out = {}
    for line in _mutmut(work, "results", "--all", "true").splitlines():
        m = re.match(r"\s*([\w.]+__mutmut_\d+): (.+)$", line)
        if m:
            word = m.group(2).strip()
            out[m.group(1)] = word if raw else STATUS.get(word, "survived")
    return out


def _change(diff: str) -> tuple[str, str]:
    """The removed and the added line of a mutant's diff, stripped."""
    lines = [ln for ln in diff.splitlines() if not ln.startswith(("+++", "---"))]
    old = " | ".join(ln[1:].strip() for ln in lines if ln.startswith("-"))
    new = " | ".join(ln[1:].strip() for ln in lines if ln.startswith("+"))
    return old, new


def load_equivalent(path: Path = EQUIVALENT) -> dict[tuple[str, str, str], str]:
    """(function, original line, mutated line) -> the reason the mutant is equivalent."""
    if not path.exists():
        return {}
    return {(e["function"], e["original"], e["mutated"]): e["reason"]
            for e in json.loads(path.read_text())}


def _reason(equivalent: dict, mutant: str, change) -> str | None:
    """Why ``mutant`` (name, and its (original, mutated) line pair) is equivalent, if listed."""
    return equivalent.get((mutant.split("__mutmut_")[0], *change))


def run_scope(scope: str, equivalent: dict, sample: int | None = None, seed: int = 0) -> dict:
    """Mutate one scope. With ``sample``, a seeded random sample of that many of its mutants
    is run (the kill rate is then an estimate, with its 95% Wilson interval)."""
    modules, tests, target = SCOPES[scope]
    work = _scratch(scope, modules, tests)
    start = time.perf_counter()
    _collect_stats(work)
    _add_subprocess_tests(work, SUBPROCESS_TESTS.get(scope, []))
    names = sorted(_listing(work))
    if not names:
        raise SystemExit(f"mutate: mutmut generated no mutants for {scope} in {work}")
    if sample:
        chosen = sorted(random.Random(seed).sample(names, min(sample, len(names))))
        _mutmut(work, "run", "--max-children", "2", *chosen)
    else:
        _mutmut(work, "run", "--max-children", "2")
    return collect(scope, work, equivalent, seed, time.perf_counter() - start)


def rerun_survivors(scope: str, record: dict, equivalent: dict) -> dict:
    """Run again only the survivors recorded for ``scope`` (after new tests), in a fresh
    scratch copy, and move those now killed to the killed count. The mutants already killed
    stay killed: tests were only added. A survivor whose function was edited since (its name
    no longer shows the recorded change) is looked up by its function and change."""
    modules, tests, target = SCOPES[scope]
    if not record["survivors"]:
        return {**record, "rerun": {"survivors": 0, "gone": 0, "now_killed": 0,
                                    "now_equivalent": 0, "seconds": 0.0}}
    work = _scratch(scope, modules, tests)
    start = time.perf_counter()
    _collect_stats(work)
    _add_subprocess_tests(work, SUBPROCESS_TESTS.get(scope, []))
    listing = _listing(work)
    shown: dict[str, list[str]] = {}

    def change(n: str) -> list[str]:
        if n not in shown:
            shown[n] = list(_change(_mutmut(work, "show", n, check=False)))
        return shown[n]

    names, gone = {}, []
    for m in record["survivors"]:
        name = m["mutant"]
        if name not in listing or change(name) != m["change"]:
            function = name.split("__mutmut_")[0] + "__mutmut_"
            name = next((n for n in sorted(listing) if n.startswith(function) and
                         change(n) == m["change"]), None)
        if name is None:        # the line it changed was removed or rewritten since
            gone.append(m)
        else:
            names[name] = m
    if names:
        _mutmut(work, "run", "--max-children", "2", *sorted(names))
    status = _listing(work)
    unrun = [n for n in names if status[n] is None]
    if unrun:
        raise SystemExit(f"mutate: mutmut did not run {unrun[0]} in {work}")
    # A mutant of code that no longer exists leaves the sample: it can neither be killed nor
    # survive now. The record keeps it under "gone".
    s = {**record, "survivors": [], "equivalent_mutants": list(record["equivalent_mutants"]),
         "gone": record.get("gone", []) + gone}
    for m in gone:
        s[m["status"]] -= 1
        s["mutants"] -= 1
    for name, m in names.items():
        reason = _reason(equivalent, name, m["change"])
        if status[name] == "killed":
            s[m["status"]] -= 1
            s["killed"] += 1
        elif reason:
            s[m["status"]] -= 1
            s["equivalent"] += 1
            s["equivalent_mutants"].append({"mutant": name, "change": m["change"],
                                            "reason": reason})
        else:
            s["survivors"].append({**m, "mutant": name, "status": status[name]})
            if status[name] != m["status"]:
                s[m["status"]] -= 1
                s[status[name]] += 1
    s["rerun"] = {"kill_rate_before": record["kill_rate"],
                  "survivors": len(names) + len(gone), "gone": len(gone),
                  "now_killed": s["killed"] - record["killed"],
                  "now_equivalent": s["equivalent"] - record["equivalent"],
                  "seconds": round(time.perf_counter() - start, 1)}
    return _score(s)


def _collect_stats(work: Path) -> None:
    """mutmut's clean run: generate the mutants and record which tests cover what. Stops
    with mutmut's last lines when that run fails (a test failing on the unmutated code)."""
    out = _mutmut(work, "run", "--max-children", "2", NO_MATCH, check=False)
    if not (work / "mutants" / "mutmut-stats.json").is_file():
        # mutmut 3.8.1 at times records no coverage on the run that generates the mutants
        # (seen on the train scope, all tests passing); a second run over them records it.
        out = _mutmut(work, "run", "--max-children", "2", NO_MATCH, check=False)
    if not (work / "mutants" / "mutmut-stats.json").is_file():
        raise SystemExit(f"mutate: mutmut's clean test run failed in {work}: "
                         + " | ".join(out.strip().splitlines()[-5:]))


def _add_subprocess_tests(work: Path, tests: list[str]) -> None:
    """Count ``tests`` as covering every mutated function in mutmut's saved stats."""
    if not tests:
        return
    path = work / "mutants" / "mutmut-stats.json"
    stats = json.loads(path.read_text())
    if not all(t in stats["duration_by_test"] for t in tests):
        raise SystemExit(f"mutate: {[t for t in tests if t not in stats['duration_by_test']]} "
                         "did not run in mutmut's stats collection")
    covered = stats["tests_by_mangled_function_name"]
    for function in stats["function_hashes"]:
        covered[function] = sorted(set(covered.get(function, [])) | set(tests))
    atomic_write_text(path, json.dumps(stats))


def collect(scope: str, work: Path, equivalent: dict, seed: int | None = None,
            seconds: float | None = None) -> dict:
    """The record of a scope from the mutants mutmut has run in ``work`` (those not run are
    left out: a sampled or an interrupted run counts what it finished)."""
    modules, tests, target = SCOPES[scope]
    listing = _listing(work)
    counts = {"killed": 0, "survived": 0, "no_tests": 0, "skipped": 0, "interrupted": 0,
              "equivalent": 0}
    survivors, judged = [], []
    for name, status in sorted(listing.items()):
        if status is None:
            continue
        if status not in ("survived", "no_tests"):
            counts[status] += 1
            continue
        diff = _change(_mutmut(work, "show", name, check=False))
        reason = _reason(equivalent, name, diff)
        if reason:
            counts["equivalent"] += 1
            judged.append({"mutant": name, "change": list(diff), "reason": reason})
        else:
            counts[status] += 1
            survivors.append({"mutant": name, "status": status, "change": list(diff)})
    ran = sum(counts.values())
    # Killed by running past 6x the tests' CPU time: mostly a hypothesis test shrinking a
    # failure, but a mutant that only slows the code would land here too.
    timeouts = sum(1 for v in _listing(work, raw=True).values() if v == "timeout")
    return _score({"modules": modules, "tests": tests, "target_kill_rate": target,
                   "generated": len(listing),
                   "sampled": None if ran == len(listing) else {"size": ran, "seed": seed},
                   "mutants": ran, **counts, "killed_by_timeout": timeouts,
                   "seconds": None if seconds is None else round(seconds, 1),
                   "survivors": survivors, "equivalent_mutants": judged})


def _score(s: dict) -> dict:
    """The kill rate of the non-equivalent mutants, its 95% interval and the target check."""
    scored = s["killed"] + s["survived"] + s["no_tests"]
    rate = s["killed"] / scored if scored else None
    return {**s, "kill_rate": rate,
            "kill_rate_95": None if not scored else wilson(s["killed"], scored),
            "meets_target": rate is not None and rate >= s["target_kill_rate"]}


def rejudge(scope: dict, equivalent: dict) -> dict:
    """Apply the equivalent list to a recorded scope's survivors, without running mutmut."""
    s = {**scope, "survivors": [], "equivalent_mutants": list(scope["equivalent_mutants"])}
    for m in scope["survivors"]:
        reason = _reason(equivalent, m["mutant"], m["change"])
        if reason:
            s[m["status"]] -= 1
            s["equivalent"] += 1
            s["equivalent_mutants"].append({"mutant": m["mutant"], "change": m["change"],
                                            "reason": reason})
        else:
            s["survivors"].append(m)
    return _score(s)


SUMMARY = ("sampled", "mutants", "killed", "survived", "no_tests", "equivalent", "kill_rate",
           "kill_rate_95", "seconds", "command", "rerun")


def replaced(previous: dict | None, new: dict) -> dict:
    """``new`` as the scope's record, with the records it replaces kept in short under
    ``earlier`` (a sample measured before later tests stays on record)."""
    if previous is None:
        return new
    earlier = previous.get("earlier", []) + [{k: previous.get(k) for k in SUMMARY}]
    return {**new, "earlier": earlier}


def wilson(k: int, n: int, z: float = 1.96) -> list[float]:
    """The 95% Wilson score interval of a proportion k/n."""
    p = k / n
    centre, half = p + z * z / (2 * n), z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return [round((centre - half) / (1 + z * z / n), 4), round((centre + half) / (1 + z * z / n), 4)]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scopes", default=",".join(SCOPES))
    parser.add_argument("--sample", type=int, metavar="N",
                        help="run a seeded random sample of N mutants per scope (default: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--merge", action="store_true",
                        help="keep the other scopes already in the output JSON")
    parser.add_argument("--collect", action="store_true",
                        help="only read the results mutmut left in build/mutate/<scope> "
                             "(an interrupted or sampled run), running nothing")
    parser.add_argument("--rejudge", action="store_true",
                        help="only apply the equivalent list to the survivors in the output "
                             "JSON (after triage), running nothing")
    parser.add_argument("--rerun-survivors", action="store_true",
                        help="run again only the survivors recorded in the output JSON for "
                             "--scopes (after new tests), keeping the rest of each record")
    parser.add_argument("--out", type=Path, default=RESULTS / "mutation.json")
    args = parser.parse_args(argv)
    if args.rejudge:
        if not args.out.exists():
            print(f"mutate: {args.out} does not exist: nothing to rejudge", file=sys.stderr)
            return 2
        record = json.loads(args.out.read_text())
        record["scopes"] = {k: rejudge(v, load_equivalent()) for k, v in record["scopes"].items()}
        atomic_write_text(args.out, json.dumps(record, indent=2) + "\n")
        print(f"rejudged {args.out}")
        return 0
    unknown = [s for s in args.scopes.split(",") if s not in SCOPES]
    if unknown:
        print(f"mutate: unknown scope {unknown[0]!r}: expected {', '.join(SCOPES)}",
              file=sys.stderr)
        return 2
    if args.sample is not None and args.sample < 1:
        print("mutate: --sample must be at least 1", file=sys.stderr)
        return 2
    if shutil.which("mutmut", path=str(Path(sys.executable).parent)) is None:
        print("mutate: mutmut is not installed: pip install -e '.[mutation]'", file=sys.stderr)
        return 2
    equivalent = load_equivalent()
    scopes = {}
    if args.merge and args.out.exists():
        previous = json.loads(args.out.read_text())
        scopes = {k: {**v, "command": v.get("command", previous.get("command"))}
                  for k, v in previous.get("scopes", {}).items()}
    command = " ".join(["python", "benchmarks/mutation.py", *sys.argv[1:]])
    for scope in args.scopes.split(","):
        if args.rerun_survivors:
            if scope not in scopes:
                print(f"mutate: no record of {scope} in {args.out} to rerun (use --merge)",
                      file=sys.stderr)
                return 2
            # The record keeps the command that sampled it; the rerun names its own.
            s = rerun_survivors(scope, scopes[scope], equivalent)
            s["rerun"]["command"] = command
        elif args.collect:
            work = ROOT / "build" / "mutate" / scope
            if not (work / "mutants").is_dir():
                print(f"mutate: no mutmut run of {scope} in {work}", file=sys.stderr)
                return 2
            s = collect(scope, work, equivalent, seed=args.seed)
        else:
            s = run_scope(scope, equivalent, args.sample, args.seed)
        if args.rerun_survivors:
            scopes[scope] = s
        elif args.collect:      # the same run read again: it keeps the record's history
            earlier = scopes.get(scope, {}).get("earlier")
            scopes[scope] = {**s, "command": command, **({"earlier": earlier} if earlier else {})}
        else:
            scopes[scope] = replaced(scopes.get(scope), {**s, "command": command})
        rate = "n/a" if s["kill_rate"] is None else f"{100 * s['kill_rate']:.1f}%"
        ran = f"{s['mutants']}" + (f" of {s['generated']}" if s["sampled"] else "")
        print(f"{scope:10} {ran:>10} mutants  killed {s['killed']:5}  survived "
              f"{s['survived']:4}  no tests {s['no_tests']:3}  equivalent "
              f"{s['equivalent']:3}  kill rate {rate} (target "
              f"{100 * s['target_kill_rate']:.0f}%)"
              + ("" if s["seconds"] is None else f"  {s['seconds']:.0f} s"), flush=True)
    write_result("mutation", {"tool": "mutmut 3.8.1", "scopes": scopes,
                              "equivalent_list": str(EQUIVALENT.relative_to(ROOT))}, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
