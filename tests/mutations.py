"""Mutation check of the kernel tests: ``python tests/mutations.py [NAME ...]`` (``make mutation``).

Each mutation changes one thing in a kernel (ignores a parameter, shifts a step, keys a draw by
position instead of by agent). For each, the tree is copied to a temporary folder, the mutation
applied, the kernels rebuilt there, and the kernel tests run against that copy: some test must
fail. Prints one line per mutation and exits non-zero if a mutation survived. Not part of
``make test`` (a rebuild and the kernel tests take a minute or more per mutation).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HANG = 600  # seconds: the kernel tests take about 4 minutes unmutated; a mutant past this hangs
TESTS = [  # the fast, exact ones first: most mutations stop at their first failure
    "tests/test_bookkeeping.py",
    "tests/test_entry.py",
    "tests/theory",
    "tests/test_media.py",
    "tests/test_media_population.py",
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
             "< self.media[what].p_copy):", "< 1.0):"),
    Mutation("step ignores acceptance in viewings", "kernels/media.pyx",
             "if st == D or u >= self.acceptance(viewer, t):", "if st == D:"),
    Mutation("step ignores informant risk", "kernels/media.pyx",
             "p *= self.informant_risk", "p *= 1.0"),
    Mutation("step lenders escape detection", "kernels/media.pyx",
             "if self.fate[2 * i] < p:", "if self.lent_to[i] < 0 and self.fate[2 * i] < p:"),
    Mutation("step campaigns one step late", "kernels/media.pyx",
             "segment_start[seg + 1] <= t", "segment_start[seg + 1] < t"),
    Mutation("step draws keyed by active slot", "kernels/media.pyx",
             "stream_at(&draws, self.key, holder, t, HOLDER_STEP, 0)",
             "stream_at(&draws, self.key, slot, t, HOLDER_STEP, 0)"),
    Mutation("step records the detected tie a step late", "kernels/media.pyx",
             "self.tie_detected[other] = <int32_t>t", "self.tie_detected[other] = <int32_t>t + 1"),
    Mutation("event holders act a step late", "kernels/sir.pyx",
             "queue_exposure(run, t + hit, nb, e, j)",
             "queue_exposure(run, t + hit + 1, nb, e, j)"),
    Mutation("event never detects", "kernels/sir.pyx",
             "detected[0] = delta > 0.0 and", "detected[0] = False and"),
    Mutation("event ignores trust", "kernels/sir.pyx",
             "run.ties.trust[e] if beta <= 1.0 else beta * run.ties.trust[e]", "1.0"),
    Mutation("event draws keyed by position", "kernels/sir.pyx",
             "stream_at(&draws, run.key, j, t, HOLDER, 0)",
             "stream_at(&draws, run.key, i, t, HOLDER, 0)"),
    # issue 20: the bookkeeping no test checked exactly, and the random streams
    Mutation("step seized lent disc stays in circulation", "kernels/media.pyx",
             "self.offer[borrower] = OFFER_WATCH\n            self.lose_object(what)",
             "self.offer[borrower] = OFFER_WATCH"),
    Mutation("step seizing a disc not lent this step keeps it", "kernels/media.pyx",
             "if s < 0 or self.lent_to[s] < 0:\n            self.lose_object(what)",
             "if s < 0 or self.lent_to[s] < 0:\n            pass"),
    Mutation("step detection uses the first medium's concealment", "kernels/media.pyx",
             "p = delta * self.media[what].conceal", "p = delta * self.media[0].conceal"),
    Mutation("step cascade skips an implicated holder's audience", "kernels/media.pyx",
             "self.stop_holding(other, D)\n                    self.new_detections += 1\n"
             "                    self.queue.push_back(other)",
             "self.stop_holding(other, D)\n                    self.new_detections += 1"),
    Mutation("step viewing channel of the holder's first group", "kernels/media.pyx",
             "self.expose(slot, viewer, what, self.group_kind[g],",
             "self.expose(slot, viewer, what, self.group_kind["
             "self.agent_groups[self.agent_group_offsets[holder]]],"),
    Mutation("step lent-media holders never cease", "kernels/media.pyx",
             "self.fate[2 * i + 1] < self.gamma or self.lent_to[i] >= 0",
             "(self.fate[2 * i + 1] < self.gamma and not self.media[self.medium[agent]].lent)"
             " or self.lent_to[i] >= 0"),
    Mutation("step a holder's second copy counted as entered", "kernels/media.pyx",
             "            self.new_entered += 1\n            return True\n        return False",
             "            self.new_entered += 1\n            return True\n"
             "        self.new_entered += 1\n        return False"),
    Mutation("step implication ignores bribes", "kernels/media.pyx",
             "p_take = self.p_implicate * (1.0 - self.p_bribe)", "p_take = self.p_implicate"),
    Mutation("step implication keyed by the other agent only", "kernels/media.pyx",
             "self.key, a, t, IMPLICATE, other) < p_take:\n"
             "                    self.seize",
             "self.key, other, t, IMPLICATE, 0) < p_take:\n"
             "                    self.seize"),
    Mutation("event channel of the first candidate queued", "kernels/sir.pyx",
             "order_by_source(run.current, run.current_kinds, run.current_sources)", "pass"),
    Mutation("event a viewer keeping no copy records no channel", "kernels/sir.pyx",
             "        if run.params.track_kinds:\n"
             "            run.channel[j] = run.current_kinds[i]\n"
             "        if p_copy < 1.0 and not uniform_at(run.key, j, t, KEEP_COPY, 0) < p_copy:\n"
             "            count_event(run, t, NEW_W)\n"
             "            continue\n",
             "        if p_copy < 1.0 and not uniform_at(run.key, j, t, KEEP_COPY, 0) < p_copy:\n"
             "            count_event(run, t, NEW_W)\n"
             "            continue\n"
             "        if run.params.track_kinds:\n"
             "            run.channel[j] = run.current_kinds[i]\n"),
    # issue 21: the mechanisms the record asked for
    Mutation("step willingness ignored", "kernels/media.pyx",
             "            a *= self.willing[viewer]", "            a *= 1.0"),
    Mutation("step deterrence ignored", "kernels/media.pyx",
             "            a *= self.deterrence", "            a *= 1.0"),
    Mutation("step deterrence lasts a day longer", "kernels/media.pyx",
             "self.deter_until[r] = <int32_t>(t + self.deterrence_steps)",
             "self.deter_until[r] = <int32_t>(t + self.deterrence_steps + 1)"),
    Mutation("step a witness records the first trial's step late", "kernels/media.pyx",
             "self.witnessed[e] = <int32_t>t\n", "self.witnessed[e] = <int32_t>(t + 1)\n"),
    Mutation("step informed viewers see nothing", "kernels/media.pyx",
             "watches this medium too\n                self.see(viewer, what)",
             "watches this medium too\n                pass"),
    Mutation("step customers of any tie kind buy", "kernels/media.pyx",
             "if self.kind[e] != self.market_kind or self.state_of(customer) != S:",
             "if self.state_of(customer) != S:"),
    Mutation("step a bought copy kept with p_copy", "kernels/media.pyx",
             "if self.offer[agent] == OFFER_BOUGHT or (", "if False or ("),
    Mutation("event ignores p_copy", "kernels/sir.pyx",
             "if p_copy < 1.0 and not uniform_at(", "if False and not uniform_at("),
    Mutation("event removal ignores gamma", "kernels/sir.pyx",
             "q = 1.0 - (1.0 - segment_delta[s]) * (1.0 - gamma)", "q = segment_delta[s]"),
    Mutation("event holders share one step too long", "kernels/sir.pyx",
             "    return r - t\n", "    return r - t + 1\n"),
    Mutation("event detection share of removals ignores delta", "kernels/sir.pyx",
             "(delta >= q or bernoulli(rng, delta / q))", "(delta >= q or bernoulli(rng, 0.5))"),
    Mutation("rng purpose not shifted into the high word", "kernels/rng.pxd",
             "s.ctr[2] = (<uint64_t>purpose) << 32", "s.ctr[2] = <uint64_t>purpose"),
    Mutation("rng agent and step swapped in the counter", "kernels/rng.pxd",
             "s.ctr[0] = <uint64_t>agent\n    s.ctr[1] = <uint64_t>step",
             "s.ctr[0] = <uint64_t>step\n    s.ctr[1] = <uint64_t>agent"),
    Mutation("rng other agent dropped from the counter", "kernels/rng.pxd",
             "s.ctr[3] = <uint64_t>other", "s.ctr[3] = 0"),
    Mutation("rng uniforms of 52 bits in [0, 0.5)", "kernels/rng.pxd",
             "(next_u64(s) >> 11)", "(next_u64(s) >> 12)"),
    Mutation("rng nine Philox rounds", "kernels/rng.pxd",
             "round < 10; round++", "round < 9; round++"),
    Mutation("rng block counter not advanced", "kernels/rng.pxd",
             "s.ctr[2] += 1", "s.ctr[2] += 0"),
    Mutation("rng geometric draw given a success ignores n", "kernels/rng.pxd",
             "1.0 - u * (1.0 - table.pw[n])", "1.0 - u"),
    # the calendar kernel (_CalendarRun): its clocks, calendar and caches
    Mutation("calendar ceasing clock uses the detection table", "kernels/media.pyx",
             "        elif which == CEASE_CLOCK:\n            table = self.ceasing\n",
             "        elif which == CEASE_CLOCK:\n"
             "            table = self.detection[self.segment_of(t) * self.n_media + what]\n"),
    Mutation("calendar a tie clock that fired is redrawn from its own day", "kernels/media.pyx",
             "self.draw_clock(holder, TIES_CLOCK, t + 1, n, &draws)",
             "self.draw_clock(holder, TIES_CLOCK, t, n, &draws)"),
    Mutation("calendar informant risk ignored", "kernels/media.pyx",
             "        if not self.risky[slot]:\n            return False\n",
             "        if True:\n            return False\n"),
    Mutation("calendar restart markers ignored", "kernels/media.pyx",
             "            if rec.restart:\n", "            if False:\n"),
    Mutation("calendar detection clock ignores the schedule's segments", "kernels/media.pyx",
             "            s += 1\n        return s\n", "            s += 1\n        return 0\n"),
    Mutation("calendar a clock with an empty window never restarts", "kernels/media.pyx",
             "        elif t + window <= self.last_day:\n", "        elif False:\n"),
    Mutation("calendar tie clock drawn from a stream keyed by slot", "kernels/media.pyx",
             "stream_at(&draws, self.key, holder, t, HOLDER_DAY, TIES_CLOCK)",
             "stream_at(&draws, self.key, slot, t, HOLDER_DAY, TIES_CLOCK)"),
    Mutation("calendar group members settled without checking them", "kernels/media.pyx",
             "            if st == S or (st != D and not (self.seen[viewer] & bit)):\n"
             "                break\n",
             "            if False:\n                break\n"),
    Mutation("calendar group cursor passes the member it stopped at", "kernels/media.pyx",
             "        cursor[0] = <int32_t>(e - first)\n",
             "        cursor[0] = <int32_t>(e - first + (e < end))\n"),
    Mutation("calendar day's sort drops its last radix pass", "kernels/sorting.pxd",
             "pass < passes;", "pass < passes - 1;"),
    Mutation("event sorts the step's candidates instead of its new holders", "kernels/sir.pyx",
             "    run.current.resize(n_new)\n", ""),
    Mutation("calendar tie-by-tie walk shifted by one tie", "kernels/media.pyx",
             "positions[starts[a]] = <int32_t>(e - days.offsets[a])",
             "positions[starts[a]] = <int32_t>(e - days.offsets[a] + 1)"),
    Mutation("calendar tie-by-tie walk lists grouped ties", "kernels/media.pyx",
             "starts[a + 1] += not days.grouped[days.kind[e]]",
             "starts[a + 1] += 1"),
    Mutation("deterrence fast path ends deterrence on the day of the trial", "kernels/media.pyx",
             "self.deterred_until = max(self.deterred_until, self.deter_until[r])",
             "self.deterred_until = t"),
    Mutation("calendar sales stop while customers are susceptible", "kernels/media.pyx",
             "if st == S or (not market and st != D and not (self.seen[viewer] & bit)):",
             "if not market and (st == S or (st != D and not (self.seen[viewer] & bit))):"),
    Mutation("calendar lent object not handed on", "kernels/media.pyx",
             "# no customer left to sell to\n        self.lend(slot, receiver)\n",
             "# no customer left to sell to\n"),
    Mutation("calendar lenders keep holding", "kernels/media.pyx",
             "                    self.fired[i] & (1 << CEASE_CLOCK) or self.lent_to[i] >= 0):",
             "                    self.fired[i] & (1 << CEASE_CLOCK)):"),
]  # fmt: skip


def caught(mutation: Mutation, python: str) -> bool:
    """Apply ``mutation`` to a copy of the tree, rebuild, run the tests: True if one fails."""
    with tempfile.TemporaryDirectory(prefix="mutation-") as tmp:
        tree = Path(tmp) / "tree"
        # The built kernels and their C++ come along (with their times): only what the mutated
        # file feeds is generated and compiled again (Cython and setuptools compare times).
        ignore = shutil.ignore_patterns(".venv", ".git", "site", "build", "results", "mutants")
        shutil.copytree(ROOT, tree, ignore=ignore)
        source = tree / mutation.path
        text = source.read_text()
        if text.count(mutation.old) != 1:
            raise SystemExit(f"{mutation.name}: {mutation.old!r} is not in {mutation.path} once")
        source.write_text(text.replace(mutation.old, mutation.new))
        build = [python, "setup.py", "-q", "build_ext", "--inplace"]
        subprocess.run(build, cwd=tree, check=True, capture_output=True)
        tests = [python, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *TESTS]
        try:
            run = subprocess.run(tests, cwd=tree, capture_output=True, text=True, timeout=HANG)
        except subprocess.TimeoutExpired:  # the mutant loops forever in some test: caught
            print(f"caught: {mutation.name} (the tests hang: over {HANG} s)", flush=True)
            return True
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
