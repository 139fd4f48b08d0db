"""Every number a user gives is checked at the edge: one line naming the option and the allowed
range, exit 2, no traceback, and nothing written (no library folder, no row)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from vagent_hf.kvengine.command import REPEATS, TOKENS

from tests.conftest import COLOUR
from tests.conftest import run_vagent as _vagent
from tests.conftest import vagent_home as _home
from vagent import Library
from vagent.cli.bench import HOURS, KEYFRAME_SECONDS, SECONDS
from vagent.errors import BadNumber
from vagent.kv.maintain import parse_size
from vagent.validate import (
    BATCH_SIZE,
    FPS,
    LIMIT,
    MAX_BYTES,
    SEGMENT_SECONDS,
    TIMEOUT,
    WEIGHT,
    K,
    Range,
    clean_text,
)


@pytest.mark.parametrize(
    ("allowed", "value", "message"),
    [
        (FPS, "inf", "--fps must be a number in (0, 60]; got 'inf'"),
        (FPS, "nan", "--fps must be a number in (0, 60]; got 'nan'"),
        (FPS, "0", "--fps must be a number in (0, 60]; got '0'"),
        (FPS, "-1", "--fps must be a number in (0, 60]; got '-1'"),
        (FPS, "1000", "--fps must be a number in (0, 60]; got '1000'"),
        (SEGMENT_SECONDS, "0", "--segment-seconds must be a number in [0.5, 3600]; got '0'"),
        (SEGMENT_SECONDS, "nan", "--segment-seconds must be a number in [0.5, 3600]; got 'nan'"),
        (K, "1000000000", "-k must be a whole number in [1, 1000]; got '1000000000'"),
        (K, "-1", "-k must be a whole number in [1, 1000]; got '-1'"),
        (K, "1e9", "-k must be a whole number in [1, 1000]; got '1e9'"),
        (K, "9" * 500, "-k must be a whole number in [1, 1000]; got '" + "9" * 37 + "...'"),
        (BATCH_SIZE, "0", "--batch-size must be a whole number in [1, 1024]; got '0'"),
        (TIMEOUT, "0", "--timeout must be a number in (0, 86400]; got '0'"),
        (LIMIT, "0", "--limit must be a whole number in [1, 1000000000]; got '0'"),
        (MAX_BYTES, 2**60, "--max-bytes must be a number in [0, 1024T]; got '1152921504606846976'"),
        (K, "1\n2", "-k must be a whole number in [1, 1000]; got '1\\n2'"),
        (K, True, "-k must be a whole number in [1, 1000]; got 'True'"),
        (K, 2.5, "-k must be a whole number in [1, 1000]; got '2.5'"),
        (K, 10**400, "-k must be a whole number in [1, 1000]; got '"),
    ],
)
def test_out_of_range_values_name_the_option_and_range(
    allowed: Range, value: object, message: str
) -> None:
    with pytest.raises(BadNumber) as err:
        allowed.check(value)
    assert str(err.value).startswith(message) and "\n" not in str(err.value)


def test_values_in_range_pass() -> None:
    assert FPS.check("60") == 60.0 and FPS.check(0.01) == 0.01
    assert SEGMENT_SECONDS.check("0.5") == 0.5 and SEGMENT_SECONDS.check(3600) == 3600
    assert K.check_int(" 7 ") == 7 and K.check_int(1000) == 1000 and K.check_int(5.0) == 5
    assert MAX_BYTES.check(parse_size("1024T")) == 2**50


# Each numeric option of the CLI, with the arguments around it and how a value becomes argv.
INDEX = ["index", "nothing.mp4", "-l", "lib", "--encoder", COLOUR]
OPTIONS: list[tuple[list[str], str, Range]] = [
    (INDEX, "--fps", FPS),
    (INDEX, "--segment-seconds", SEGMENT_SECONDS),
    (INDEX, "--batch-size", BATCH_SIZE),
    (["search", "red", "-l", "lib"], "-k", K),
    (["search", "red", "-l", "lib"], "--weights", WEIGHT),
    (["ask", "why?", "-l", "lib"], "--timeout", TIMEOUT),
    (["eval", "questions.jsonl", "-l", "lib"], "--limit", LIMIT),
    (["kv", "prune", "-l", "lib"], "--max-bytes", MAX_BYTES),
    (["bench", "ingest"], "--seconds", SECONDS),
    (["bench", "ingest"], "--keyframe-seconds", KEYFRAME_SECONDS),
    (["bench", "ask"], "--hours", HOURS),
    (["bench", "kv"], "--tokens", TOKENS),
    (["bench", "kv"], "--repeats", REPEATS),
]  # fmt: skip


def _valid(option: str, allowed: Range, value: str) -> bool:
    try:
        if option == "--max-bytes":
            allowed.check(parse_size(value))
        else:
            allowed.check(value)
    except (ValueError, OverflowError):
        return False
    return True


NUMBERS = st.one_of(
    st.sampled_from(["nan", "inf", "-inf", "0", "-0", "-1", "1e9", "1e400", "61", "1001", "0.4"]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.text(max_size=12),
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(which=st.integers(0, len(OPTIONS) - 1), value=NUMBERS)
def test_fuzz_numeric_options_fail_in_one_line_and_write_nothing(
    colour_plugin: None, which: int, value: str
) -> None:
    argv, option, allowed = OPTIONS[which]
    assume(not _valid(option, allowed, value))
    text = f"visual={value}" if option == "--weights" else value
    code, out, err = _vagent(*argv, f"{option}={text}" if option != "-k" else f"-k{text}")
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2, (option, value, err)
    assert len(lines) == 1 and lines[0].startswith("error: "), (option, value, err)
    assert "Traceback" not in err and out == ""
    assert not _home().exists()  # no library folder, no catalog, no row


def test_old_crashes_are_refused_before_anything_is_written(
    colour_plugin: None, videos: Path
) -> None:
    """The reported cases: --fps inf wrote the library row then divided by zero (and the
    library could never be indexed again); nan was an IntegrityError; 0 became the default."""
    for option, value in [
        ("--fps", "inf"),
        ("--fps", "nan"),
        ("--fps", "0"),
        ("--fps", "-1"),
        ("--fps", "1000"),
        ("--segment-seconds", "nan"),
        ("--segment-seconds", "0"),
    ]:
        code, _, err = _vagent("index", str(videos / "rgb.mp4"), "-l", "lib", "--encoder", COLOUR,
                               option, value)  # fmt: skip
        assert code == 2 and err.count("\n") == 1 and option in err, err
        assert not _home().exists()
    code, out, err = _vagent("index", str(videos / "rgb.mp4"), "-l", "lib", "--encoder", COLOUR,
                             "--text", "none", "--fps", "2")  # fmt: skip
    assert code == 0 and "indexed 1" in out, err
    for args in (["-k", "1000000000"], ["-k", "-1"], ["--weights", "text=nan"]):
        code, out, err = _vagent("search", "red", "-l", "lib", *args)
        assert code == 2 and out == "" and err.count("\n") == 1, err
    code, out, _ = _vagent("search", "red", "-l", "lib", "-k", "3", "--json")
    assert code == 0 and out.count('"segment_id"') == 3


def test_python_api_checks_the_same_ranges(colour_plugin: None, videos: Path) -> None:
    lib = Library.open("api")
    for kw in ({"fps": math.inf}, {"fps": 0}, {"segment_seconds": math.nan}, {"batch_size": 0}):
        with pytest.raises(BadNumber):
            lib.index([str(videos / "rgb.mp4")], encoder=COLOUR, progress=False, **kw)  # type: ignore[arg-type]
    assert not _home().exists()
    lib.index([str(videos / "rgb.mp4")], encoder=COLOUR, text="none", progress=False)
    for k in (0, -1, 10**9, 2.5):
        with pytest.raises(BadNumber, match=r"-k must be a whole number in \[1, 1000\]"):
            lib.search("red", k=k)  # type: ignore[arg-type]
    with pytest.raises(BadNumber, match=r"--weights text= must be a number in \[0, 100\]"):
        lib.search("red", weights={"text": math.nan})
    with pytest.raises(BadNumber, match="unknown channel 'colour'"):
        lib.search("red", weights={"colour": 1.0})
    assert len(lib.search("red", k=2)) == 2


def test_bad_bytes_in_text_are_replaced() -> None:
    assert clean_text("red\udcff car") == "red\ufffd car"  # surrogate escape of byte 0xff
    assert "\ufffd" in clean_text("x\ud800")  # a lone surrogate from Python
    assert clean_text("crème brûlée") == "crème brûlée"


@pytest.mark.parametrize("segmenter", ["fixed/nan", "fixed/0", "fixed/inf", "scene/abc", "scene/0"])
def test_numbers_inside_the_segmenter_id(colour_plugin: None, segmenter: str) -> None:
    code, _, err = _vagent(*INDEX, "--text", "none", "--segmenter", segmenter)
    assert code == 2 and err.count("\n") == 1 and "--segmenter" in err, err
    assert not _home().exists()


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["bench", "needle", "--hours", "0.5,nan"], "--hours must be a number in (0, 1000]"),
        (["bench", "needle", "--depths", "0.5,2"], "--depths must be a number in [0, 1]"),
        (["bench", "needle", "--hours", ","], "--hours needs at least one number"),
        (["bench", "kv", "--ks", "1,0"], "--ks must be a whole number in [1, 1000]"),
        (["bench", "ingest", "--size", "0x720", "--no-naive"], "--size must be a whole number"),
    ],
)
def test_number_lists_of_the_benchmarks(argv: list[str], needle: str) -> None:
    code, out, err = _vagent(*argv)
    assert code == 2 and out == "" and err.count("\n") == 1 and needle in err, err


def test_agent_config_numbers_are_checked() -> None:
    from vagent.agent import AgentConfig

    assert AgentConfig(timeout_s=0.3, refinements=0).timeout_s == 0.3
    for kw, field in [
        ({"timeout_s": math.nan}, "timeout_s"),
        ({"timeout_s": 0}, "timeout_s"),
        ({"k": 10**9}, "k"),
        ({"max_frames": 0}, "max_frames"),
        ({"threshold": math.inf}, "threshold"),
    ]:
        with pytest.raises(BadNumber, match=rf"^{field} must be"):
            AgentConfig(**kw)  # type: ignore[arg-type]
