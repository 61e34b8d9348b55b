"""Reading the end of a service's log."""

from __future__ import annotations

from cartstream.compose.process import tail


def test_tail_gives_the_last_lines_of_a_long_file_and_nothing_for_a_missing_one(tmp_path):
    log = tmp_path / "server.log"
    log.write_text("".join(f"line {n} {'x' * 40}\n" for n in range(20_000)))
    assert tail(log, 3).splitlines() == [f"line {n} {'x' * 40}" for n in (19_997, 19_998, 19_999)]
    assert tail(log, 20_000).splitlines()[0].startswith("line 0 ")
    short = tmp_path / "short.log"
    short.write_text("only\n")
    assert tail(short, 5) == "only"
    assert tail(tmp_path / "absent.log", 5) == ""
