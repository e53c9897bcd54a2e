"""The short form and "Xem đầy đủ" through the real channel adapters (fakes) and the console."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

from aiohttp import web

from bot.channels import telegram as tg
from tests.channelkit import TelegramUser, ZaloUser, running, zalo_deps
from tests.fake_telegram import TOKEN

ROOT = Path(__file__).resolve().parent.parent
LOCAL_ENTRY = """
- id: dichvucong-gio-lam-viec-trung-tam
  title: Giờ làm việc Trung tâm hành chính công xã
  topic: dichvucong
  kind: info
  questions:
    - Trung tâm phục vụ hành chính công xã làm việc mấy giờ?
    - gio lam viec trung tam hanh chinh cong xa
    - trung tam hcc xa mo cua may gio
    - may gio trung tam hanh chinh cong xa mo cua
    - lich lam viec trung tam phuc vu hanh chinh cong
  short: Sáng 7 giờ 30 đến 11 giờ 30, chiều 13 giờ 30 đến 17 giờ, thứ Hai đến thứ Sáu.
  answer: |
    Sáng 7 giờ 30 đến 11 giờ 30, chiều 13 giờ 30 đến 17 giờ, thứ Hai đến thứ Sáu.
    Sáng thứ Bảy có cán bộ trực nhận hồ sơ căn cước.
  related: []
  sources:
    - outlet: UBND xã Mẫu
      title: Thông báo lịch làm việc của Trung tâm Phục vụ hành chính công
      url: https://mau.gov.vn/lich-lam-viec
  checked: 2026-11-20
"""


def run(args: list[str], stdin: str = "", env: dict[str, str] | None = None):
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "bot", *args], input=stdin, capture_output=True, text=True,
                          env=full_env, cwd=ROOT / "tests", timeout=120)


def local_dir(tmp_path: Path) -> Path:
    local = tmp_path / "local"
    local.mkdir()
    (local / "xa.yaml").write_text(textwrap.dedent(LOCAL_ENTRY), encoding="utf-8")
    return local


def test_console_shows_short_then_full_for_a_typed_number(tmp_path):
    env = {"DATABASE_PATH": str(tmp_path / "c.db"), "KNOWLEDGE_LOCAL_DIR": str(local_dir(tmp_path))}
    first = run(["chat"], stdin="gio lam viec trung tam hanh chinh cong xa\n", env=env)
    assert first.returncode == 0, first.stderr
    assert "13 giờ 30 đến 17 giờ" in first.stdout and "Sáng thứ Bảy" not in first.stdout
    assert "Nguồn: UBND xã Mẫu – Thông báo lịch làm việc" in first.stdout
    number = re.search(r"(\d+)\. 📖 Xem đầy đủ", first.stdout).group(1)
    # the offered choices are kept in the session, so the number still works in the next console run
    second = run(["chat"], stdin=f"{number}\n", env=env)
    assert "Sáng thứ Bảy có cán bộ trực" in second.stdout


def test_kb_check_only_and_dump_fields(tmp_path):
    local = local_dir(tmp_path)
    env = {"KNOWLEDGE_LOCAL_DIR": str(local)}
    out = run(["kb", "check", "--only", str(local / "xa.yaml")], env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "hợp lệ: 1 mục" in out.stdout
    dump = {e["id"]: e for e in json.loads(run(["kb", "dump"], env=env).stdout)}
    entry = dump["dichvucong-gio-lam-viec-trung-tam"]
    assert entry["kind"] == "info" and entry["short"].startswith("Sáng 7 giờ 30")
    assert entry["as_of"] is None and entry["review_by"] is None
    assert entry["sources"][0] == {"outlet": "UBND xã Mẫu", "title": "Thông báo lịch làm việc của Trung tâm Phục vụ "
                                   "hành chính công", "url": "https://mau.gov.vn/lich-lam-viec"}
    (local / "xa.yaml").write_text(textwrap.dedent(LOCAL_ENTRY).replace("mau.gov.vn", "vietjack.me"),
                                   encoding="utf-8")
    out = run(["kb", "check", "--only", str(local / "xa.yaml")], env=env)
    assert out.returncode == 1 and "xa.yaml [dichvucong-gio-lam-viec-trung-tam]: nguồn thứ 1 dùng trang bị cấm" \
        in out.stdout
    assert run(["kb", "check", "--only", str(tmp_path / "khong-co.yaml")], env=env).returncode == 2


async def test_zalo_typed_number_opens_the_full_answer(small_deps, zfake):
    async with running(zalo_deps(small_deps, zfake)):
        user = ZaloUser(zfake, "6ede9afa66b88fe6d6a9")
        [text] = await user.say("nop ho so dvc")
        assert "ghi lại mã hồ sơ" not in text
        [full] = await user.pick("📖 Xem đầy đủ")  # types the number in front of it
    assert full.startswith("📌 Nộp hồ sơ dịch vụ công trực tuyến") and "ghi lại mã hồ sơ" in full
    assert "Xem đầy đủ" not in full


async def test_telegram_button_opens_the_full_answer(small_deps, tfake):
    deps = dataclasses.replace(small_deps, settings=dataclasses.replace(
        small_deps.settings, telegram_bot_token=TOKEN, telegram_base_url=tfake.base_url))
    channel = await tg.start(deps, web.Application(), poll_timeout=1)
    try:
        user = TelegramUser(tfake, 111)
        await user.say("nop ho so dvc")
        assert "ghi lại mã hồ sơ" not in user.text
        await user.press("Xem đầy đủ")
        assert "ghi lại mã hồ sơ" in user.text and "Thông tin kiểm tra ngày 01/11/2026" in user.text
    finally:
        await channel.stop()
