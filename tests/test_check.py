"""`kb check` rules of the issue #11 format: kind, short form, source domains, dates, internal file names."""

import datetime as dt
import textwrap
from pathlib import Path

import pytest

from handlers.faq import render_answer
from knowledge.check import check
from knowledge.loader import load
from knowledge.sources import load_registry, registry

TODAY = dt.date(2026, 11, 30)
OFFICIAL = '{outlet: Bộ Công an, title: Hướng dẫn, url: "https://bocongan.gov.vn/huong-dan"}'
PRESS = '{outlet: VnExpress, title: Bài báo, url: "https://vnexpress.net/bai-bao-123.html"}'
QUESTIONS = "[{w} mot, {w} hai, {w} ba nhe, {w} bon the nao, {w} nam ra sao]"


def entry(ident: str = "vneid-a", *, kind: str = "procedure", short: str | None = '"Ngắn."',
          answer: str = '"Đầy đủ."', sources: str = f"[{OFFICIAL}]", extra: str = "",
          topic: str = "vneid") -> str:
    lines = [f"- id: {ident}", f"  title: Mục {ident}", f"  topic: {topic}"]
    if kind:
        lines.append(f"  kind: {kind}")
    lines.append(f"  questions: {QUESTIONS.format(w=ident.replace('-', ' '))}")
    if short is not None:
        lines.append(f"  short: {short}")
    lines += [f"  answer: {answer}", "  related: []", f"  sources: {sources}", "  checked: 2026-11-20"]
    return "\n".join(lines + [line for line in extra.splitlines() if line.strip()]) + "\n"


def run(tmp_path: Path, text: str, name: str = "a.yaml", today: dt.date = TODAY):
    (tmp_path / name).write_text(textwrap.dedent(text), encoding="utf-8")
    return check(shipped_dir=tmp_path, today=today)


def test_new_format_entry_is_clean(tmp_path):
    report = run(tmp_path, entry(sources=f"[{OFFICIAL}, {PRESS}]"))
    assert report.ok and not report.warnings, (report.errors, report.warnings)


def test_old_format_still_loads_but_check_reports_it(tmp_path):
    old = entry(kind="", short=None, sources="[https://vnexpress.net/x.html, 000_6d3af2d849fcaf41.txt]")
    (tmp_path / "a.yaml").write_text(old, encoding="utf-8")
    loaded = load(shipped_dir=tmp_path)[0]  # the transition: older files keep loading
    assert loaded.brief == "Đầy đủ." and not loaded.has_more and loaded.sources[0].legacy
    errors = "\n".join(run(tmp_path, old).errors)
    assert "thiếu 'kind'" in errors and "thiếu 'short'" in errors
    assert 'nguồn thứ 1 "https://vnexpress.net/x.html" phải là mục có outlet, title, url' in errors
    assert 'nguồn thứ 2 "000_6d3af2d849fcaf41.txt"' in errors


@pytest.mark.parametrize("kwargs, message", [
    ({"short": '"' + "Ngắn. " * 70 + '"'}, "bản ngắn dài 419 ký tự (tối đa 350)"),
    ({"short": '"**Ngắn**"'}, "bản ngắn có ký hiệu định dạng"),
    ({"sources": f"[{OFFICIAL.replace('bocongan.gov.vn', 'vietjack.me')}]"}, "trang bị cấm vietjack.me"),
    ({"sources": f"[{OFFICIAL.replace('bocongan.gov.vn', 'nfc-guides.kalapa.vn')}]"}, "trang bị cấm nfc-guides"),
    ({"sources": f"[{OFFICIAL.replace('bocongan.gov.vn', 'blog-la.com')}]"}, "blog-la.com chưa có trong"),
    ({"sources": f"[{OFFICIAL.replace('https://bocongan.gov.vn/huong-dan', 'bocongan')}]"}, "url không hợp lệ"),
    ({"sources": f"[{PRESS}]"}, "cần ít nhất một nguồn chính thức"),
    ({"kind": "rule", "sources": f"[{PRESS}]", "extra": "  review_by: 2027-06-30"}, "cần ít nhất một nguồn chính thức"),
    ({"kind": "info", "sources": '[{outlet: LuatVietnam, title: Luật, url: "https://luatvietnam.vn/a.html"}]'},
     "không được là nguồn duy nhất"),
    ({"answer": '"Xem bài báo 000_6d3af2d849fcaf41.txt."'}, "'answer' nhắc tên tệp nội bộ"),
    ({"short": '"Theo kb-facts.md."'}, "'short' nhắc tên tệp nội bộ"),
    ({"sources": f"[{OFFICIAL.replace('title: Hướng dẫn', 'title: 002_967a21695724ae8a.txt')}]"},
     "tên tệp nội bộ \"002_967a21695724ae8a.txt\" trong 'title'"),
    ({"kind": "rule"}, "cần 'review_by'"),
    ({"extra": "  effective: 2024-07-01", "answer": '"Từ 1/7/2024."'}, "cần 'review_by'"),
    ({"extra": "  as_of: 2026-11-25"}, "'as_of' (2026-11-25) sau ngày kiểm tra"),
    ({"topic": "smalltalk", "kind": "info"}, "phải có kind: smalltalk"),
])
def test_each_rule_is_an_error(tmp_path, kwargs, message):
    ident = "smalltalk-a" if kwargs.get("topic") == "smalltalk" else "vneid-a"
    report = run(tmp_path, entry(ident, **kwargs))
    assert any(message in e for e in report.errors), report.errors


def test_a_procedure_without_official_page_must_say_why_and_is_warned(tmp_path):
    reason = "không tìm thấy trang chính thức; chỉ có báo chí"
    report = run(tmp_path, entry(sources=f"[{PRESS}]", extra=f"  official_missing: {reason}"))
    assert report.ok and any(reason in w for w in report.warnings), (report.errors, report.warnings)
    rule = run(tmp_path, entry(kind="rule", sources=f"[{PRESS}]",
                               extra=f"  official_missing: {reason}\n  review_by: 2027-06-30"))
    assert any("cần ít nhất một nguồn chính thức" in e for e in rule.errors)  # rules never
    stale = run(tmp_path, entry(extra=f"  official_missing: {reason}"))  # it has one: the marker must go
    assert any("bỏ 'official_missing'" in e for e in stale.errors)


def test_review_by_passed_is_only_a_warning(tmp_path):
    text = entry(kind="rule", extra="  review_by: 2026-06-30")
    report = run(tmp_path, text)
    assert report.ok and any("quá hạn xem lại (30/06/2026)" in w for w in report.warnings)
    assert not run(tmp_path, text, today=dt.date(2026, 6, 1)).warnings  # not yet passed: silent


def test_old_guidance_is_fine_and_rendered_with_a_note(tmp_path):
    report = run(tmp_path, entry(extra="  as_of: 2023-05-10", short='"Ngắn."', answer='"Ngắn. Đầy đủ."'))
    assert report.ok and not report.warnings
    e = load(shipped_dir=tmp_path)[0]
    assert "Thông tin này theo hướng dẫn năm 2023" in render_answer(e, TODAY)
    assert "Thông tin này theo hướng dẫn năm" not in render_answer(e, dt.date(2023, 12, 1))  # recent then


def test_smalltalk_needs_no_source(tmp_path):
    assert run(tmp_path, entry("smalltalk-a", kind="smalltalk", topic="smalltalk", sources="[]")).ok
    assert not run(tmp_path, entry(kind="info", sources="[]")).ok  # the loader refuses it


def test_only_limits_the_report_to_the_given_files(tmp_path):
    (tmp_path / "mine.yaml").write_text(entry("vneid-mine"), encoding="utf-8")
    (tmp_path / "theirs.yaml").write_text(entry("vneid-theirs", kind=""), encoding="utf-8")
    full = check(shipped_dir=tmp_path, today=TODAY)
    assert any("theirs.yaml" in e for e in full.errors)
    mine = check(shipped_dir=tmp_path, today=TODAY, only=[tmp_path / "mine.yaml"])
    assert mine.ok and mine.entries == 1, mine.errors
    by_name = check(shipped_dir=tmp_path, today=TODAY, only=["theirs.yaml"])
    assert by_name.entries == 1 and all("theirs.yaml" in e for e in by_name.errors) and by_name.errors


def test_source_registry_longest_suffix_and_disallowed_first(tmp_path):
    reg = registry()
    assert reg.classify("https://www.vneid.gov.vn/x").category == "official"
    assert reg.classify("https://congan.laichau.gov.vn/a").category == "official"  # any *.gov.vn
    assert reg.classify("https://baochinhphu.vn/a").category == "official"
    assert reg.classify("https://vnexpress.net/a").name == "VnExpress"
    assert reg.classify("https://dansinh.dantri.com.vn/a").name == "Dân trí (Dân sinh)"
    assert reg.classify("https://vietjack.me/a").category == "disallowed"
    assert reg.classify("kb-facts.md").category == "unknown"
    path = tmp_path / "s.yaml"
    path.write_text("official: {gov.vn: Nhà nước}\ndisallowed: {xau.gov.vn: trang giả}\n", encoding="utf-8")
    local = load_registry(path)
    assert local.classify("https://xau.gov.vn/a").category == "disallowed"
    assert local.classify("https://tot.gov.vn/a").category == "official"


def test_two_sources_under_the_short_form_three_under_the_full_answer(tmp_path):
    sources = "[" + ", ".join(OFFICIAL.replace("title: Hướng dẫn", f"title: Bài {i}") for i in range(1, 5)) + "]"
    (tmp_path / "a.yaml").write_text(entry(sources=sources, answer='"Ngắn. Thêm."'), encoding="utf-8")
    e = load(shipped_dir=tmp_path)[0]
    assert "Bài 2." in render_answer(e, TODAY) and "Bài 3" not in render_answer(e, TODAY)
    assert "Bài 3." in render_answer(e, TODAY, full=True) and "Bài 4" not in render_answer(e, TODAY, full=True)


def test_old_string_sources_never_show_a_file_name(tmp_path):
    old = entry(kind="", short=None, sources="[000_6d3af2d849fcaf41.txt, https://vnexpress.net/x.html]")
    (tmp_path / "a.yaml").write_text(old, encoding="utf-8")
    text = render_answer(load(shipped_dir=tmp_path)[0], TODAY)
    assert ".txt" not in text and "Nguồn: VnExpress." in text


def test_a_domain_listed_twice_is_refused(tmp_path):
    twice = tmp_path / "sources.yaml"
    twice.write_text("official:\n  gov.vn: Nhà nước\npress:\n  vnexpress.net: VnExpress\n  vnexpress.net: VnExpress 2\n"
                     "secondary: {}\ndisallowed: {}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="vnexpress.net"):
        load_registry(twice)
    both = tmp_path / "both.yaml"
    both.write_text("official:\n  thoibaonganhang.vn: A\npress:\n  thoibaonganhang.vn: B\nsecondary: {}\n"
                    "disallowed: {}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="thoibaonganhang.vn"):
        load_registry(both)
    assert load_registry().classify("https://vnexpress.net/x").category == "press"
