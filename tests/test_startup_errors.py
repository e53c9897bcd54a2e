"""L7: a broken database or a wrong TIMEZONE stops the bot with one clear line, not a traceback."""

from __future__ import annotations

import pytest
from test_cli import run


@pytest.mark.parametrize("make", ["random", "zeroed", "parent_is_file"])
def test_broken_database_is_one_clear_line(tmp_path, make):
    db = tmp_path / "bot.db"
    if make == "random":
        db.write_bytes(bytes(range(256)) * 64)
    elif make == "zeroed":
        db.write_bytes(b"\x00" * 8192)
    else:
        (tmp_path / "file").write_text("x")
        db = tmp_path / "file" / "bot.db"
    out = run(["chat"], stdin="/start\n", env={"DATABASE_PATH": str(db), "TELEGRAM_BOT_TOKEN": "",
                                              "ZALO_BOT_TOKEN": ""}, cwd=tmp_path)
    assert out.returncode == 2, out.stderr
    assert "Traceback" not in out.stderr and "DATABASE_PATH" in out.stderr
    assert len(out.stderr.strip().splitlines()) <= 2


def test_wrong_timezone_is_refused(tmp_path):
    out = run(["chat"], stdin="", env={"TIMEZONE": "Asia/Hanoi", "DATABASE_PATH": str(tmp_path / "b.db")},
              cwd=tmp_path)
    assert out.returncode == 2 and "TIMEZONE" in out.stderr and "Traceback" not in out.stderr
