"""The shipped configs: each one's question and the command it is for.

``diffusion experiments`` prints this list, and the README's table of experiments is written
from it (``python -m diffusion.shipped``, part of ``make docs-generated``; a test fails when the
README is stale). A config's question is the ``# Question:`` paragraph of its opening comment;
the command follows from its sections: ``[strategy]`` is for ``diffusion strategy``,
``[calibration]`` for ``diffusion calibrate`` (and ``diffusion sensitivity``, which takes the
priors as its ranges), ``[sensitivity]`` for ``diffusion sensitivity``, ``[sweep]`` for
``diffusion sweep`` (its scenario also runs alone with ``diffusion run``), any other for
``diffusion run``. A TOML file without ``[network]`` is not a config: the calibration targets
file is listed as such.
"""

from __future__ import annotations

import textwrap
import tomllib
from dataclasses import dataclass
from pathlib import Path

from diffusion._io import atomic_write

README = Path(__file__).resolve().parent.parent / "README.md"
BEGIN, END = "<!-- experiments: generated -->", "<!-- /experiments -->"
"""The markers around the README's generated table."""


@dataclass(frozen=True)
class Shipped:
    """One TOML file of ``experiments/``: its question, and the commands it is for."""

    path: Path
    """The file as a command names it from the folder above ``experiments/``."""
    question: str
    commands: tuple[str, ...]
    """Command lines, e.g. ``diffusion run experiments/baseline.toml --out results/baseline``;
    empty for a file that is not a config (the targets file)."""
    note: str = ""
    """What a file that is not a config is for."""


def shipped(folder: str | Path = "experiments") -> list[Shipped]:
    """Every ``*.toml`` under ``folder`` (subfolders included), sorted by path."""
    folder = Path(folder)
    return [_describe(path, folder) for path in sorted(folder.rglob("*.toml"))]


def _describe(file: Path, folder: Path) -> Shipped:
    text = file.read_text(encoding="utf-8")
    data = tomllib.loads(text)
    path = Path(folder.name) / file.relative_to(folder)
    if "network" not in data:
        note = "targets file of [calibration] (read by diffusion calibrate)"
        if "targets" not in data:
            note = "not a config (no [network])"
        return Shipped(path, question(text), (), note)
    out = f"results/{file.stem}"
    verbs = []
    if "strategy" in data:
        verbs.append("strategy")
    if "calibration" in data:
        verbs += ["calibrate", "sensitivity"]
    elif "sensitivity" in data:
        verbs.append("sensitivity")
    if "sweep" in data:
        verbs.append("sweep")
    if not verbs or verbs == ["sweep"]:
        verbs.insert(0, "run")
    commands = tuple(
        f"diffusion {verb} {path.as_posix()} --out {out}{'-' + verb if i else ''}"
        for i, verb in enumerate(verbs)
    )
    return Shipped(path, question(text), commands)


def question(text: str) -> str:
    """The ``# Question:`` paragraph of a file's opening comment, on one line (without one, the
    comment's first paragraph), its first letter capitalised."""
    paragraphs: list[list[str]] = [[]]
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        body = line.lstrip("#").strip()
        if body:
            paragraphs[-1].append(body)
        elif paragraphs[-1]:
            paragraphs.append([])
    found = [" ".join(p) for p in paragraphs if p]
    asked = [p.removeprefix("Question:").strip() for p in found if p.startswith("Question:")]
    chosen = (asked or found or [""])[0]
    return chosen[:1].upper() + chosen[1:]


def listing(folder: str | Path = "experiments", width: int = 100) -> str:
    """The text ``diffusion experiments`` prints: each file, its question, its commands."""
    blocks = []
    for item in shipped(folder):
        lines = [str(item.path)]
        if item.note:
            lines.append(f"    ({item.note})")
        if item.question:
            lines += textwrap.wrap(
                item.question,
                width,
                initial_indent="    ",
                subsequent_indent="    ",
                break_on_hyphens=False,
            )
        lines += [f"    $ {command}" for command in item.commands]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def readme_table(folder: str | Path = "experiments") -> str:
    """The README's Markdown table of the shipped files (each question up to its first ``?``,
    the first sentence of a file that asks none)."""
    rows = ["| config | question | command |", "|---|---|---|"]
    for item in shipped(folder):
        end = item.question.find("?") + 1 or item.question.find(". ") + 1 or None
        first = item.question[:end].strip()
        verbs = ", ".join(f"`{c.split()[1]}`" for c in item.commands) or item.note
        rows.append(f"| `{item.path.as_posix()}` | {first.replace('|', '/')} | {verbs} |")
    return "\n".join(rows)


def write_readme(path: Path = README) -> Path:
    """Replace the table between the README's markers with the current one (atomically)."""
    text = path.read_text(encoding="utf-8")
    head, begin, rest = text.partition(BEGIN)
    _old, end, tail = rest.partition(END)
    if not begin or not end:
        raise ValueError(f"{path}: no {BEGIN} ... {END} block")
    fresh = f"{head}{BEGIN}\n{readme_table(path.parent / 'experiments')}\n{END}{tail}"
    return atomic_write(path, fresh.encode())


if __name__ == "__main__":
    print(write_readme())
