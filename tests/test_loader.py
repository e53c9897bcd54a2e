"""Strict loading with clear messages, local overrides, and `kb check` catching each problem."""

import datetime as dt
import textwrap
from pathlib import Path

import pytest

from knowledge.check import check
from knowledge.loader import KnowledgeError, add_local_phrasing, load

GOOD = """
- id: vneid-a
  title: Mục A
  topic: vneid
  kind: procedure
  questions: [kich hoat vneid, kích hoạt VNeID, cach kich hoat vneid, kich hoat tk vneid, vneid kich hoat sao]
  short: "1. Mở VNeID."
  answer: "1. Mở VNeID."
  related: [vneid-b]
  sources:
    - {outlet: Công an tỉnh Hà Nam, title: Kích hoạt tài khoản, url: "https://dean06.hanam.gov.vn/tailieu/dk_t5.html"}
  checked: 2026-11-01
- id: vneid-b
  title: Mục B
  topic: vneid
  kind: procedure
  questions: [quen mat khau, quên mật khẩu, lay lai mat khau, mat khau bi quen, khong nho mat khau]
  short: "1. Bấm Quên mật khẩu."
  answer: "1. Bấm Quên mật khẩu."
  related: []
  sources:
    - {outlet: Công an tỉnh Hà Nam, title: Quên mật khẩu, url: "https://dean06.hanam.gov.vn/tailieu/dk_t5.html"}
  checked: 2026-11-01
"""


def write(dir_: Path, name: str, text: str) -> Path:
    dir_.mkdir(parents=True, exist_ok=True)
    path = dir_ / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_loads_good_file(tmp_path):
    write(tmp_path, "a.yaml", GOOD)
    entries = load(shipped_dir=tmp_path)
    assert [e.id for e in entries] == ["vneid-a", "vneid-b"]
    assert entries[0].checked == dt.date(2026, 11, 1)


@pytest.mark.parametrize("change, message", [
    (("  answer: \"1. Mở VNeID.\"", "  answer: \"\""), "'answer' không được để trống"),
    (("  topic: vneid\n  kind: procedure\n  questions: [kich", "  topic: thoitiet\n  kind: procedure\n  questions: [kich"),
     "chủ đề 'thoitiet'"),
    (("  sources:\n    - {outlet: Công an tỉnh Hà Nam, title: Kích hoạt tài khoản, url: \"https://dean06.hanam.gov.vn/tailieu/dk_t5.html\"}\n  checked: 2026-11-01\n- id: vneid-b",
      "  sources: []\n  checked: 2026-11-01\n- id: vneid-b"), "thiếu nguồn"),
    (("title: Kích hoạt tài khoản, url:", "title: Kích hoạt tài khoản, link:"), "trường không hợp lệ link"),
    (("{outlet: Công an tỉnh Hà Nam, title: Kích hoạt tài khoản,", "{outlet: Công an tỉnh Hà Nam, title: '',"),
     "nguồn thứ 1 thiếu 'title'"),
    (("  kind: procedure\n  questions: [kich", "  kind: huongdan\n  questions: [kich"), "kind 'huongdan'"),
    (("  checked: 2026-11-01\n- id: vneid-b", "  checked: hôm qua\n- id: vneid-b"), "'checked' phải là ngày"),
    (("- id: vneid-a", "- id: Vneid A"), "id phải gồm"),
    (("  related: [vneid-b]", "  related: [vneid-b]\n  extra: 1"), "trường không hợp lệ extra"),
    (("questions: [kich hoat vneid, kích hoạt VNeID, cach kich hoat vneid, kich hoat tk vneid, vneid kich hoat sao]",
      "questions: [kich hoat vneid]"), "cần ít nhất 4 cách hỏi"),
])
def test_bad_entries_fail_with_file_and_id(tmp_path, change, message):
    write(tmp_path, "bad.yaml", GOOD.replace(*change))
    with pytest.raises(KnowledgeError) as err:
        load(shipped_dir=tmp_path)
    assert "bad.yaml" in str(err.value) and message in str(err.value)


def test_yaml_syntax_error(tmp_path):
    write(tmp_path, "broken.yaml", "- id: [unclosed\n")
    with pytest.raises(KnowledgeError, match="broken.yaml: YAML sai cú pháp"):
        load(shipped_dir=tmp_path)


def test_duplicate_id_across_files(tmp_path):
    write(tmp_path, "a.yaml", GOOD)
    write(tmp_path, "b.yaml", GOOD.split("- id: vneid-b")[0])
    with pytest.raises(KnowledgeError, match="id trùng"):
        load(shipped_dir=tmp_path)


def test_dangling_related(tmp_path):
    write(tmp_path, "a.yaml", GOOD.replace("related: [vneid-b]", "related: [vneid-zzz]"))
    with pytest.raises(KnowledgeError, match="vneid-zzz"):
        load(shipped_dir=tmp_path)


def test_local_folder_overrides_and_extends(tmp_path):
    shipped = tmp_path / "shipped"
    local = tmp_path / "local"
    write(shipped, "a.yaml", GOOD)
    write(local, "x.yaml", GOOD.split("- id: vneid-b")[0].replace("1. Mở VNeID.", "1. Bản của xã."))
    add_local_phrasing(local, "vneid-b", "mk vneid quen mat roi")
    entries = {e.id: e for e in load(local, shipped_dir=shipped)}
    assert entries["vneid-a"].answer == "1. Bản của xã."
    assert "mk vneid quen mat roi" in entries["vneid-b"].questions


def test_check_passes_good(tmp_path):
    write(tmp_path, "a.yaml", GOOD)
    report = check(shipped_dir=tmp_path, today=dt.date(2026, 11, 22))
    assert report.ok, report.errors


@pytest.mark.parametrize("change, message", [
    (("related: [vneid-b]", "related: [vneid-zzz]"), "mục không có: vneid-zzz"),
    (("related: [vneid-b]", "related: [vneid-a]"), "trỏ tới chính nó"),
    (("\"1. Mở VNeID.\"", "\"1. **Mở** VNeID.\""), "ký hiệu định dạng"),
    (("\"1. Mở VNeID.\"", "\"" + "1. Mở VNeID. " * 120 + "\""), "tối đa 1200"),
    (("kich hoat tk vneid, vneid kich hoat sao]", "kich hoat tk vneid]"), "cần ít nhất 5 cách hỏi"),
    (("quen mat khau, quên mật khẩu", "kich hoat vneid ngay, quên mật khẩu"), "khớp với mục 'vneid-a'"),
    (("checked: 2026-11-01\n- id: vneid-b", "checked: 2027-01-01\n- id: vneid-b"), "ở tương lai"),
    (("checked: 2026-11-01\n- id: vneid-b", "checked: 2026-11-01\n  effective: 2025-01-01\n- id: vneid-b"),
     "không nêu mốc thời gian"),
])
def test_check_catches_each_problem(tmp_path, change, message):
    write(tmp_path, "a.yaml", GOOD.replace(*change))
    report = check(shipped_dir=tmp_path, today=dt.date(2026, 11, 22))
    assert any(message in e for e in report.errors), report.errors


def test_check_warns_on_stale_entries(tmp_path):
    write(tmp_path, "a.yaml", GOOD.replace("2026-11-01", "2025-01-01"))
    report = check(shipped_dir=tmp_path, today=dt.date(2026, 11, 22))
    assert report.ok
    assert any("12 tháng" in w for w in report.warnings)
