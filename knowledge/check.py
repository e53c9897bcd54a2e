"""`python -m bot kb check`: every problem in the knowledge base, precisely located."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .loader import (
    ALIASES_FILE,
    DATA_DIR,
    KINDS,
    MIN_QUESTIONS,
    UNSOURCED_KINDS,
    Entry,
    KnowledgeError,
    load,
    load_aliases,
    resolve,
)
from .matcher import Matcher
from .sources import Registry, registry

MAX_ANSWER = 1200
MAX_SHORT = 350
STALE_AFTER = dt.timedelta(days=365)
MARKUP = re.compile(r"\*\*|__|`|^#|\[[^\]]*\]\([^)]*\)|<[a-zA-Z/][^>]*>", re.MULTILINE)
# An internal file name ("000_6d3af2d849fcaf41.txt", "kb-facts.md") must never reach a user.
FILE_NAME = re.compile(r"[\w.-]+\.(?:txt|md|ya?ml|py|json|csv|tsv)\b", re.IGNORECASE)
NEEDS_OFFICIAL = ("procedure", "rule")


@dataclass
class Report:
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    entries: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


def _where(entry: Entry) -> str:
    return f"{Path(entry.origin).name} [{entry.id}]"


def _selected(entries: list[Entry], only: Iterable[str | Path] | None) -> list[Entry]:
    """Entries from the given files (a path, or a bare file name); all entries when `only` is None."""
    if only is None:
        return entries
    wanted = [Path(p) for p in only]
    paths = {p.resolve() for p in wanted}
    names = {p.name for p in wanted if p.parent == Path(".")}
    return [e for e in entries if Path(e.origin).resolve() in paths or Path(e.origin).name in names]


def check_entry(e: Entry, today: dt.date, sources: Registry) -> tuple[list[str], list[str]]:
    """The new-format rules of one entry (issue #11): kind, short form, sources, dates, file names."""
    where = _where(e)
    errors = _form_errors(e, where)
    source_errors, warnings = _source_problems(e, where, sources)
    errors += source_errors
    if e.review_by is None and (e.kind == "rule" or e.effective):
        errors.append(f"{where}: cần 'review_by' (mục loại rule hoặc có 'effective')")
    elif e.review_by is not None and e.review_by < today:
        warnings.append(f"{where}: đã quá hạn xem lại ({e.review_by:%d/%m/%Y}); kiểm tra lại quy định")
    if e.as_of is not None and e.as_of > e.checked:
        errors.append(f"{where}: 'as_of' ({e.as_of}) sau ngày kiểm tra ({e.checked})")
    return errors, warnings


def _form_errors(e: Entry, where: str) -> list[str]:
    """Kind, the short form, and no internal file names in what users read."""
    errors: list[str] = []
    if not e.kind:
        errors.append(f"{where}: thiếu 'kind' ({' | '.join(KINDS)})")
    elif e.topic == "smalltalk" and e.kind != "smalltalk":
        errors.append(f"{where}: mục thuộc chủ đề smalltalk phải có kind: smalltalk")
    elif e.kind == "guide" and (e.topic != "tocongnghe" or e.sources):
        errors.append(f"{where}: mục hướng dẫn dùng trợ lý (guide) thuộc chủ đề tocongnghe và không ghi nguồn bên ngoài")
    if not e.short:
        errors.append(f"{where}: thiếu 'short' (bản ngắn, tối đa {MAX_SHORT} ký tự)")
    elif len(e.short) > MAX_SHORT:
        errors.append(f"{where}: bản ngắn dài {len(e.short)} ký tự (tối đa {MAX_SHORT})")
    if e.short and MARKUP.search(e.short):
        errors.append(f"{where}: bản ngắn có ký hiệu định dạng (markdown/HTML) sẽ hiện thô trên điện thoại")
    for name, text in (("title", e.title), ("short", e.short), ("answer", e.answer)):
        found = FILE_NAME.search(text)
        if found:
            errors.append(f"{where}: '{name}' nhắc tên tệp nội bộ \"{found.group()}\"")
    return errors


def _source_problems(e: Entry, where: str, sources: Registry) -> tuple[list[str], list[str]]:
    """(errors, warnings) about the entry's sources: their form, their domains, an official one."""
    errors: list[str] = []
    warnings: list[str] = []
    official = press = secondary = 0
    for i, s in enumerate(e.sources, 1):
        if s.legacy:
            errors.append(f"{where}: nguồn thứ {i} \"{s.url}\" phải là mục có outlet, title, url "
                          "(tên cơ quan/báo, tên bài, đường dẫn), không phải chuỗi trơn hay tên tệp")
            continue
        for name, text in (("outlet", s.outlet), ("title", s.title)):
            found = FILE_NAME.search(text)
            if found:
                errors.append(f"{where}: nguồn thứ {i} có tên tệp nội bộ \"{found.group()}\" trong '{name}'")
        verdict = sources.classify(s.url)
        if not verdict.domain:
            errors.append(f"{where}: nguồn thứ {i} có url không hợp lệ \"{s.url}\" (cần http(s)://...)")
        elif verdict.category == "disallowed":
            errors.append(f"{where}: nguồn thứ {i} dùng trang bị cấm {verdict.domain} ({verdict.name})")
        elif verdict.category == "unknown":
            errors.append(f"{where}: nguồn thứ {i}: tên miền {verdict.domain} chưa có trong knowledge/sources.yaml")
        else:
            official += verdict.category == "official"
            press += verdict.category == "press"
            secondary += verdict.category == "secondary"
    if e.sources and e.kind in NEEDS_OFFICIAL and not official:
        if e.kind == "procedure" and e.official_missing:
            warnings.append(f"{where}: hướng dẫn chưa có nguồn chính thức ({e.official_missing})")
        else:
            errors.append(f"{where}: mục loại {e.kind} cần ít nhất một nguồn chính thức (official trong sources.yaml)")
    elif e.official_missing and official:
        errors.append(f"{where}: đã có nguồn chính thức, bỏ 'official_missing'")
    if secondary and not official and not press:
        errors.append(f"{where}: trang luật/thứ cấp không được là nguồn duy nhất; thêm nguồn chính thức hoặc báo chí")
    if not e.sources and e.kind not in UNSOURCED_KINDS:
        errors.append(f"{where}: thiếu nguồn (sources)")
    return errors, warnings


def alias_errors(aliases: dict[str, str], ids: set[str]) -> list[str]:
    """An old id that is live again, or that leads to no entry."""
    errors = []
    for old, new in sorted(aliases.items()):
        if old in ids:
            errors.append(f"{ALIASES_FILE.name}: id cũ '{old}' lại là một mục đang có; bỏ dòng này hoặc đổi id mục")
            continue
        try:
            target = resolve(old, aliases)
        except KnowledgeError as exc:
            errors.append(str(exc))
            continue
        if target not in ids:
            errors.append(f"{ALIASES_FILE.name}: id cũ '{old}' trỏ tới mục không có: {new}")
    return errors


def check(local_dir: Path | None = None, today: dt.date | None = None,
          only: Iterable[str | Path] | None = None, shipped_dir: Path = DATA_DIR,
          aliases: dict[str, str] | None = None) -> Report:
    """Every problem; with `only`, just the problems of entries from those files. `aliases`: the
    merged ids to check (default: knowledge/aliases.yaml, for the shipped folder only)."""
    report = Report()
    today = today or dt.date.today()
    if aliases is None:
        try:
            aliases = load_aliases() if shipped_dir == DATA_DIR else {}
        except KnowledgeError as exc:
            report.errors.append(str(exc))
            return report
    try:
        all_entries = load(local_dir, shipped_dir, check_related=False, aliases=aliases)
    except KnowledgeError as exc:
        report.errors.append(str(exc))
        return report
    entries = _selected(all_entries, only)
    report.entries = len(entries)
    ids = {e.id for e in all_entries}
    report.errors.extend(alias_errors(aliases, ids))
    sources = registry()
    for e in entries:
        where = _where(e)
        errors, warnings = check_entry(e, today, sources)
        report.errors.extend(errors)
        report.warnings.extend(warnings)
        dangling = [r for r in e.related if r not in ids]
        if dangling:
            report.errors.append(f"{where}: 'related' trỏ tới mục không có: {', '.join(dangling)}")
        if e.id in e.related:
            report.errors.append(f"{where}: 'related' trỏ tới chính nó")
        if len(e.questions) < MIN_QUESTIONS:
            report.errors.append(f"{where}: cần ít nhất {MIN_QUESTIONS} cách hỏi, có {len(e.questions)}")
        if len(e.answer) > MAX_ANSWER:
            report.errors.append(f"{where}: câu trả lời dài {len(e.answer)} ký tự (tối đa {MAX_ANSWER})")
        if MARKUP.search(e.answer):
            report.errors.append(f"{where}: câu trả lời có ký hiệu định dạng (markdown/HTML) sẽ hiện thô trên điện thoại")
        if e.checked > today:
            report.errors.append(f"{where}: ngày kiểm tra {e.checked} ở tương lai")
        elif today - e.checked > STALE_AFTER:
            report.warnings.append(f"{where}: đã hơn 12 tháng chưa kiểm tra lại (lần cuối {e.checked})")
        if e.effective and str(e.effective.year) not in e.answer:
            report.errors.append(f"{where}: quy định có hiệu lực từ {e.effective:%d/%m/%Y} nhưng câu trả lời "
                                 "không nêu mốc thời gian đó")
        if len(set(e.questions)) != len(e.questions):
            report.errors.append(f"{where}: có cách hỏi bị lặp")
    report.errors.extend(phrasing_conflicts(all_entries, {e.id for e in entries}))
    return report


def phrasing_conflicts(entries: list[Entry], owners: set[str] | None = None) -> list[str]:
    """Every phrasing that, left out of the index, matches another entry better than its own.

    `owners` limits the report to phrasings of those entries (all entries still compete)."""
    matcher = Matcher(entries)
    problems = []
    for doc, phrase in enumerate(matcher.phrases):
        if matcher.is_title[doc]:
            continue  # titles are indexed as a help, but only `questions` are the entry's phrasings
        owner = matcher.entries[matcher.owner[doc]]
        if owners is not None and owner.id not in owners:
            continue
        ranked = matcher.rank(phrase, skip_doc=doc)
        if not ranked or ranked[0].entry.id == owner.id:
            continue
        own = next((s.score for s in ranked if s.entry.id == owner.id), 0.0)
        if ranked[0].score > own:
            problems.append(
                f"{_where(owner)}: cách hỏi \"{phrase}\" khớp với mục '{ranked[0].entry.id}' "
                f"({ranked[0].score:.0f}) hơn chính mục của nó ({own:.0f})"
            )
    return problems
