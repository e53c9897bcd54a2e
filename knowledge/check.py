"""`python -m bot kb check`: every problem in the knowledge base, precisely located."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

from .loader import Entry, KnowledgeError, load
from .matcher import Matcher

MIN_QUESTIONS = 5
MAX_ANSWER = 1200
STALE_AFTER = dt.timedelta(days=365)
MARKUP = re.compile(r"\*\*|__|`|^#|\[[^\]]*\]\([^)]*\)|<[a-zA-Z/][^>]*>", re.MULTILINE)


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


def check(local_dir: Path | None = None, today: dt.date | None = None, **load_kw: object) -> Report:
    report = Report()
    today = today or dt.date.today()
    try:
        entries = load(local_dir, check_related=False, **load_kw)  # type: ignore[arg-type]
    except KnowledgeError as exc:
        report.errors.append(str(exc))
        return report
    report.entries = len(entries)
    ids = {e.id for e in entries}
    for e in entries:
        where = _where(e)
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
    report.errors.extend(phrasing_conflicts(entries))
    return report


def phrasing_conflicts(entries: list[Entry]) -> list[str]:
    """Every phrasing that, left out of the index, matches another entry better than its own."""
    matcher = Matcher(entries)
    problems = []
    for doc, phrase in enumerate(matcher.phrases):
        if matcher.is_title[doc]:
            continue  # titles are indexed as a help, but only `questions` are the entry's phrasings
        owner = matcher.entries[matcher.owner[doc]]
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
