"""The CLI contract: `ask [--json]`, `kb dump`, `kb check`, and a piped console session."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(args: list[str], stdin: str = "", env: dict[str, str] | None = None, cwd: Path = ROOT / "tests"):
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "bot", *args], input=stdin, capture_output=True, text=True,
                          env=full_env, cwd=cwd, timeout=120)


def test_ask_json_one_object_per_line_including_blank(tmp_path):
    db = tmp_path / "never.db"
    # a clear question (P(right) far above the fitted threshold), so the test is about the format, not the fit
    # ("cach kich hoat vneid" was one until round 13; its three "kích hoạt" siblings now get it offered as choices)
    out = run(["ask", "--json"], stdin="quen mat khau vneid\n\nthoi tiet ngay mai the nao\n",
              env={"DATABASE_PATH": str(db)})
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip("\n").split("\n")
    assert len(lines) == 3
    results = [json.loads(line) for line in lines]
    assert set(results[0]) == {"question", "status", "entry", "score", "choices"}
    assert results[0]["status"] == "answer"
    assert set(results[0]["entry"]) == {"id", "title", "answer", "sources"}
    assert all(set(s) == {"outlet", "title", "url"} for s in results[0]["entry"]["sources"])
    assert results[0]["entry"]["id"].startswith("vneid-")
    assert results[1] == {"question": "", "status": "none", "entry": None, "score": 0.0, "choices": []}
    assert results[2]["status"] == "none" and results[2]["entry"] is None
    for r in results:
        assert 0 <= r["score"] <= 100
        for c in r["choices"]:
            assert set(c) == {"id", "title", "score"}
    assert not db.exists()  # ask never writes to the database


def test_ask_arguments_and_choices_shape():
    # a topic with no need named ("vneid muc 2": register, activate, elsewhere?) gets choices well clear of the
    # fitted thresholds; a bare "vneid" sat on the choices threshold's edge and flipped with each refit
    out = run(["ask", "--json", "vneid muc 2", "quen mk vneid"])
    a, b = (json.loads(line) for line in out.stdout.splitlines())
    assert a["question"] == "vneid muc 2" and a["status"] == "choices"
    assert a["entry"] is None and 1 <= len(a["choices"]) <= 3
    assert b["status"] == "answer" and b["entry"]["id"].startswith("vneid-")


def test_ask_plain_text():
    # a phrasing of the entry, word for word, is always answered: the test is about the output's shape
    out = run(["ask", "mo tk nh online can giay to gi"])
    lines = out.stdout.splitlines()
    assert out.returncode == 0 and lines[0] == "? mo tk nh online can giay to gi"
    # then "[entry id] title (score)" of the answer, and the answer itself
    assert re.fullmatch(r"\[thanhtoan-[a-z0-9-]+\] .*ngân hàng.* \(\d+\.\d\)", lines[1])
    assert len(lines) > 2 and lines[2].strip()


def test_kb_dump_is_the_whole_kb():
    out = run(["kb", "dump"])
    entries = json.loads(out.stdout)
    assert len(entries) >= 100
    assert {"id", "title", "topic", "kind", "questions", "short", "answer", "related", "sources", "checked",
            "as_of", "effective", "review_by"} <= set(entries[0])


def test_kb_check_failing(tmp_path):
    local = tmp_path / "local"
    local.mkdir()
    (local / "bad.yaml").write_text(
        "- id: xa-gio-lam-viec\n  title: Giờ làm việc\n  topic: dichvucong\n"
        "  questions: [a, b, c, d, e]\n  answer: ''\n  related: []\n  sources: [x]\n  checked: 2026-11-01\n",
        encoding="utf-8")
    out = run(["kb", "check"], env={"KNOWLEDGE_LOCAL_DIR": str(local)})
    assert out.returncode == 1
    assert "bad.yaml [xa-gio-lam-viec]" in out.stdout


def test_piped_console_session(tmp_path):
    db = tmp_path / "chat.db"
    script = "xin chao\nkich hoat vneid ko dc\n1\n\n😀\nso cccd 001203004567\n/huy\n/chude\n2\n"
    out = run(["chat"], stdin=script, env={"DATABASE_PATH": str(db)})
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "Kích hoạt" in text or "kích hoạt" in text
    assert "Gõ 1," in text  # numbered choices
    assert "Đừng gửi" in text
    assert "001203004567" not in text + out.stderr
    import sqlite3

    conn = sqlite3.connect(db)
    dump = "\n".join(str(row) for table in ("sessions", "unanswered", "feedback")
                     for row in conn.execute(f"SELECT * FROM {table}"))
    assert "001203004567" not in dump


def test_default_command_without_token_is_console(tmp_path):
    out = run([], stdin="quen mat khau vneid\n", env={"DATABASE_PATH": str(tmp_path / "d.db"),
                                                      "TELEGRAM_BOT_TOKEN": "", "ZALO_BOT_TOKEN": ""})
    assert out.returncode == 0 and "mật khẩu" in out.stdout.lower()


def test_bad_config_is_a_clear_error():
    out = run(["ask", "x"], env={"ADMIN_IDS": "khong-hop-le"})
    assert out.returncode == 2 and "ADMIN_IDS" in out.stderr
