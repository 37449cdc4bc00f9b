"""The CI slowdown guard (benchmarks/guard.py): its floors file, its verdicts, its exit code."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import guard


def test_floors_file_of_the_repository_is_valid_and_below_the_measured_ratios() -> None:
    floors = guard.load_floors(guard.FLOORS)
    assert set(floors) == set(guard.GUARDS)
    for entry in floors.values():
        assert 0 < entry["floor"] <= entry["measured"] / 1.5  # well below, not at the edge


def test_a_ratio_below_its_floor_fails_and_one_at_or_above_passes() -> None:
    assert "below its floor 3.0" in guard.check("event_vs_numpy", 2.99, 3.0)
    assert guard.check("event_vs_numpy", 3.0, 3.0) is None
    assert guard.check("event_vs_numpy", 7.0, 3.0) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[nope]\nfloor = 1\nrepeats = 1\n", "[nope] is not one of"),
        ("[event_vs_numpy]\nfloor = 0\nrepeats = 1\nmeasured = 5\n", "floor: 0 is not"),
        ("[event_vs_numpy]\nfloor = 1\nrepeats = 0\nmeasured = 5\n", "repeats: 0 is not"),
        ("[event_vs_numpy]\nfloor = 6\nrepeats = 1\nmeasured = 5\n", "not below measured"),
    ],
)
def test_a_bad_floors_entry_is_a_one_line_error_naming_it(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "floors.toml"
    path.write_text(text)
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        guard.load_floors(path)


def test_the_guard_exits_1_below_a_floor_and_0_above_it(tmp_path: Path, capsys) -> None:
    """The real measurement (event kernel and numpy at 10^5, one repeat): no machine makes the
    event kernel 1000x the numpy reference, and every machine makes it faster than 1/1000x."""
    path = tmp_path / "floors.toml"
    path.write_text("[event_vs_numpy]\nfloor = 1000.0\nrepeats = 1\nmeasured = 2000.0\n")
    assert guard.main(["--floors", str(path)]) == 1
    assert "event_vs_numpy: ratio" in capsys.readouterr().err
    path.write_text("[event_vs_numpy]\nfloor = 0.001\nrepeats = 1\nmeasured = 2000.0\n")
    assert guard.main(["--floors", str(path)]) == 0
