"""Calibration targets as data: the shipped file loads, and bad rows are named in the error."""

from __future__ import annotations

import copy
import datetime as dt
import tomllib
from pathlib import Path

import pytest

from diffusion.calibration.targets import (
    MAX_TARGETS_BYTES,
    Period,
    TargetError,
    check_calendar,
    load_targets,
    validate_targets,
)

TARGETS = Path(__file__).parent.parent / "experiments" / "calibration" / "targets.toml"
START, END = dt.date(2000, 1, 1), dt.date(2020, 12, 31)
MEDIA = ("usb", "dvd", "microsd", "vcr")


@pytest.fixture(scope="module")
def data() -> dict:
    return tomllib.loads(TARGETS.read_text())


def test_the_shipped_targets_load_and_fit_the_2000_2020_calendar():
    targets = load_targets(TARGETS)
    fitted = [t.name for t in targets.fitted()]
    assert fitted == [
        "dvd-2007", "dvd-2010", "usb-2016", "video-2011-15", "video-2016-20",
        "knew-punished-2006", "witnessed-punished-2019",
    ]  # fmt: skip
    assert all(t.unfitted for t in targets.targets if not t.fitted)
    check_calendar(targets, START, END, MEDIA)


def test_a_period_is_evaluated_at_its_middle():
    assert Period(kind="fieldwork", first=2007, last=2007).date() == dt.date(2007, 7, 2)
    assert Period(kind="defection", first=2011, last=2015).date() == dt.date(2013, 7, 1)
    with pytest.raises(ValueError, match="open"):
        Period(kind="defection", last=1999).date()


def _with(data: dict, row: int, **changes) -> dict:
    bad = copy.deepcopy(data)
    for key, value in changes.items():
        if value is None:
            del bad["targets"][row][key]
        else:
            bad["targets"][row][key] = value
    return bad


@pytest.mark.parametrize(
    ("row", "changes", "message"),
    [
        (3, {"value": 1.4}, "targets[3].value: 1.4 is not in [0, 1]"),
        (0, {"source": None}, "targets[0].source: required but missing"),
        (1, {"source": "InterMedia"}, "targets[1].source: 'InterMedia' is not a full source"),
        (2, {"statistic": "knows_punished"}, "targets[2].statistic: 'knows_punished' is not one"),
        (7, {"statistic": "watched"}, "targets[7].statistic: give a statistic, or say why not"),
        (0, {"weighting": "travellers"}, "targets[0].weighting: 'travellers' is not a [weight"),
        (5, {"media": ["dvd"]}, "targets[5].media: only for first_medium and seen"),
        (0, {"media": ["dvd", "usb"]}, "targets[0].media: seen needs exactly one medium"),
        (2, {"media": None}, "targets[2].media: seen needs exactly one medium"),
        (5, {"statistic": "first_medium"}, "targets[5].media: required for first_medium"),
        (0, {"period": {"kind": "fieldwork", "last": 2007}}, "targets[0].period.first: required"),
        (1, {"name": "dvd-2007"}, "targets[1].name: 'dvd-2007' is used twice"),
        (0, {"colour": "red"}, "targets[0].colour: unknown key"),
        # strict as a config: nothing converted (issue 20, C6)
        (3, {"value": "0.20"}, "targets[3].value: '0.20' is not a number"),
        (3, {"n": True}, "targets[3].n: true is not an integer"),
        (
            0,
            {"period": {"kind": "fieldwork", "first": "2007", "last": 2008}},
            "targets[0].period.first: '2007' is not an integer",
        ),
        (0, {"name": "a\nforged line"}, "targets[0].name: 'a\\nforged line' holds a control"),
    ],
)
def test_a_bad_row_is_named_in_the_error(data, row, changes, message):
    with pytest.raises(TargetError) as caught:
        validate_targets(_with(data, row, **changes))
    assert any(line.startswith(message) for line in caught.value.lines), caught.value.lines


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x" * (MAX_TARGETS_BYTES + 1), "more than 1048576 bytes (not a targets file)"),
        ("a = " + "[" * 600 + "]" * 600, "nested too deeply"),
        ("a = " + "[" * 30 + "]" * 30, "nested more than 20 deep"),
        (b"\xff\xfe", "not a text file"),
    ],
)
def test_a_hostile_targets_file_is_refused_in_one_line(tmp_path, text, message):
    path = tmp_path / "targets.toml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(TargetError) as caught:
        load_targets(path)
    assert len(caught.value.lines) == 1 and message in caught.value.lines[0]


def test_a_bad_weighting_is_named(data):
    bad = copy.deepcopy(data)
    bad["weightings"]["defectors"]["Pyongyang"] = 0.5
    with pytest.raises(TargetError, match=r"weightings.defectors: the shares add up to 1.3"):
        validate_targets(bad)
    bad["weightings"]["defectors"] = {"Atlantis": 0.1}
    with pytest.raises(TargetError, match="weightings.defectors.Atlantis: not a census province"):
        validate_targets(bad)


def test_a_period_outside_the_run_is_rejected():
    targets = load_targets(TARGETS)
    with pytest.raises(TargetError) as caught:
        check_calendar(targets, dt.date(2008, 1, 1), dt.date(2015, 12, 31), MEDIA)
    assert caught.value.lines == [
        "targets[0].period: 2007-2007 is outside the run (2008-01-01 to 2015-12-31)",
        "targets[2].period: 2016-2016 is outside the run (2008-01-01 to 2015-12-31)",
        "targets[6].period: 2016-2020 is outside the run (2008-01-01 to 2015-12-31)",
        "targets[8].period: 2006-2011 is outside the run (2008-01-01 to 2015-12-31)",
        "targets[9].period: 2018-2019 is outside the run (2008-01-01 to 2015-12-31)",
    ]
    with pytest.raises(TargetError, match=r"targets\[2\].media: 'usb' is not a medium"):
        check_calendar(targets, START, END, ("dvd",))
