"""Mutation check of the kernel tests: ``python tests/mutations.py [NAME ...]`` (``make mutation``).

Each mutation changes one thing in a kernel (ignores a parameter, shifts a step, keys a draw by
position instead of by agent). For each, the tree is copied to a temporary folder, the mutation
applied, the kernels rebuilt there, and the kernel tests run against that copy: some test must
fail. Prints one line per mutation and exits non-zero if a mutation survived. Not part of
``make test`` (a rebuild per mutation takes a minute or two).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTS = [
    "tests/theory",
    "tests/test_media.py",
    "tests/test_media_population.py",
    "tests/test_entry.py",
]


@dataclass(frozen=True)
class Mutation:
    name: str
    path: str
    old: str
    new: str


MUTATIONS = [
    Mutation("step ignores trust", "kernels/media.pyx",
             "self.beta * factor * self.trust[e] *", "self.beta * factor *"),
    Mutation("step ignores p_copy", "kernels/media.pyx",
             "< self.media[what].p_copy:", "< 1.0:"),
    Mutation("step ignores acceptance in viewings", "kernels/media.pyx",
             "u < self.accept[self.cohort_of(viewer)]", "u < 1.0"),
    Mutation("step ignores informant risk", "kernels/media.pyx",
             "p *= self.informant_risk", "p *= 1.0"),
    Mutation("step lenders escape detection", "kernels/media.pyx",
             "if self.fate[2 * i] < p:", "if self.lent_to[i] < 0 and self.fate[2 * i] < p:"),
    Mutation("step campaigns one step late", "kernels/media.pyx",
             "segment_start[seg + 1] <= t", "segment_start[seg + 1] < t"),
    Mutation("step draws keyed by active slot", "kernels/media.pyx",
             "stream_at(&draws, self.key, holder, t,", "stream_at(&draws, self.key, slot, t,"),
    Mutation("step records the detected tie a step late", "kernels/media.pyx",
             "self.tie_detected[other] = <int32_t>t", "self.tie_detected[other] = <int32_t>t + 1"),
    Mutation("event holders act a step late", "kernels/sir.pyx",
             "queue_exposure(run, t + hit, nb, e)", "queue_exposure(run, t + hit + 1, nb, e)"),
    Mutation("event never detects", "kernels/sir.pyx",
             "detected[0] = delta > 0.0 and", "detected[0] = False and"),
    Mutation("event ignores trust", "kernels/sir.pyx",
             "run.ties.trust[e] if beta <= 1.0 else beta * run.ties.trust[e]", "1.0"),
    Mutation("event draws keyed by position", "kernels/sir.pyx",
             "stream_at(&draws, run.key, j, t, HOLDER, 0)",
             "stream_at(&draws, run.key, i, t, HOLDER, 0)"),
]  # fmt: skip


def caught(mutation: Mutation, python: str) -> bool:
    """Apply ``mutation`` to a copy of the tree, rebuild, run the tests: True if one fails."""
    with tempfile.TemporaryDirectory(prefix="mutation-") as tmp:
        tree = Path(tmp) / "tree"
        ignore = shutil.ignore_patterns(".venv", ".git", "site", "build", "*.so", "results")
        shutil.copytree(ROOT, tree, ignore=ignore)
        source = tree / mutation.path
        text = source.read_text()
        if text.count(mutation.old) != 1:
            raise SystemExit(f"{mutation.name}: {mutation.old!r} is not in {mutation.path} once")
        source.write_text(text.replace(mutation.old, mutation.new))
        build = [python, "setup.py", "-q", "build_ext", "--inplace"]
        subprocess.run(build, cwd=tree, check=True, capture_output=True)
        tests = [python, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *TESTS]
        run = subprocess.run(tests, cwd=tree, capture_output=True, text=True)
        failed = [line for line in run.stdout.splitlines() if line.startswith("FAILED")]
        by = f" ({failed[0].removeprefix('FAILED ')})" if failed else ""
        print(f"{'caught' if run.returncode else 'SURVIVED'}: {mutation.name}{by}", flush=True)
        return run.returncode != 0


def main(names: list[str]) -> int:
    chosen = [m for m in MUTATIONS if not names or m.name in names]
    survived = [m.name for m in chosen if not caught(m, sys.executable)]
    print(f"{len(chosen) - len(survived)} of {len(chosen)} mutations caught")
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
