"""Dates and periods as people say them, with or without diacritics.

- `parse_day`: the day a household was helped: "hôm nay", "hôm qua", "hôm kia", "thứ 2".."chủ nhật"
  (the last such day, today included), "25/11", "25/11/2026"; never in the future, at most
  `back_days` ago.
- `parse_period`: a report period: "hôm nay", "hôm qua", "tuần này", "tuần trước", "tháng này",
  "tháng trước", "tháng 10", "quý này", "quý trước", "quý 3", "năm nay", "năm 2025", "6 tháng"
  (the first half of the year, as reports say it), "9 tháng", "tất cả", one date, or a range
  "1/11-15/11", "01/11/2026 - 15/11/2026", "từ 1/11 đến 15/11".

Pure functions of the text and `today`; no I/O.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from knowledge.normalize import fold

FIRST_DAY = dt.date(2000, 1, 1)  # "tất cả" starts here: before any team existed
WEEKDAYS = {"2": 0, "hai": 0, "3": 1, "ba": 1, "4": 2, "tu": 2, "5": 3, "nam": 3, "6": 4, "sau": 4,
            "7": 5, "bay": 5}
ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4}
MAX_SPAN_DAYS = 5 * 366  # a typed range covers at most about five years
MAX_AHEAD = dt.timedelta(days=366)  # and ends at most a year from today
DAY_EXAMPLES = "hôm nay, hôm qua, hôm kia, thứ 2 … chủ nhật, hoặc ngày/tháng như 25/11"
PERIOD_HELP = ("Bạn gõ khoảng thời gian theo một trong các cách: hôm nay, hôm qua, tuần này, tuần trước, "
               "tháng này, tháng trước, tháng 10, quý này, quý 3, năm nay, 6 tháng (đầu năm), tất cả, "
               "hoặc từ ngày đến ngày như 1/11-15/11 hay 01/11/2026-15/11/2026. "
               "Ví dụ: /baocao tháng trước")
_DATE = re.compile(r"(\d{1,2})\s*[/.\-]\s*(\d{1,2})(?:\s*[/.\-]\s*(\d{4}|\d{2}))?")


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date
    label: str
    arg: str  # what to type to get this period again (for buttons)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def vn_date(day: dt.date | str) -> str:
    if isinstance(day, str):
        day = dt.date.fromisoformat(day)
    return day.strftime("%d/%m/%Y")


def words(text: str) -> str:
    """Folded, lower case, one space between words: 'Hôm  Qua!' -> 'hom qua'."""
    return " ".join(re.findall(r"[a-z0-9/.\-]+", fold(text or "")))


# --- one day -----------------------------------------------------------------------------------

def _weekday(said: str) -> int | None:
    if said in ("chu nhat", "chunhat", "cn"):
        return 6
    m = re.fullmatch(r"(?:thu|t)\s*(\w+)", said)
    return WEEKDAYS.get(m.group(1)) if m else None


def _calendar_day(said: str, today: dt.date, prefer_past: bool = True) -> dt.date | None | str:
    """'25/11' (the last one not after today), '25/11/2026'; a string when it is not on the calendar."""
    m = _DATE.fullmatch(said)
    if not m:
        return None
    day, month = int(m.group(1)), int(m.group(2))
    year = int(m.group(3)) if m.group(3) else today.year
    year += 2000 if year < 100 else 0
    try:
        date = dt.date(year, month, day)
    except ValueError:
        return f"Ngày {said} không có trên lịch."
    if not m.group(3) and prefer_past and (date - today).days > 31:  # "30/12" typed in January: last year
        try:
            date = date.replace(year=year - 1)
        except ValueError:
            return f"Ngày {said} không có trên lịch."
    return date


def relative_day(said: str, today: dt.date) -> dt.date | None:
    said = said.removeprefix("ngay ").strip()
    back = {"hom nay": 0, "homnay": 0, "nay": 0, "hom qua": 1, "homqua": 1, "qua": 1,
            "hom kia": 2, "homkia": 2, "kia": 2}.get(said)
    if back is not None:
        return today - dt.timedelta(days=back)
    weekday = _weekday(said)
    if weekday is not None:
        return today - dt.timedelta(days=(today.weekday() - weekday) % 7)
    return None


def says_a_day(text: str, today: dt.date) -> bool:
    """True when `text` names a day ('25/12', 'hôm qua', '31/02'), whether or not it may be used."""
    said = words(text).removeprefix("ngay ").strip()
    return relative_day(said, today) is not None or _calendar_day(said, today) is not None


def parse_day(text: str, today: dt.date, back_days: int = 30) -> tuple[dt.date | None, str]:
    """The day help happened, or (None, why, with the accepted forms)."""
    said = words(text).removeprefix("ngay ").strip()
    date = relative_day(said, today)
    if date is None:
        found = _calendar_day(said, today)
        if isinstance(found, str):
            return None, f"{found} Bạn gõ lại giúp tôi, ví dụ: {DAY_EXAMPLES}."
        date = found
    if date is None:
        ahead = parse_due(text, today)[0]  # "ngày mai", "thứ 6 tuần sau": a day to come, not one not understood
        if ahead is not None and ahead > today:
            date = ahead
    if date is None:
        return None, f"Tôi chưa hiểu ngày \"{text.strip()[:30]}\". Bạn gõ: {DAY_EXAMPLES}."
    if date > today:
        return None, f"Ngày {vn_date(date)} chưa tới. Chỉ ghi việc đã làm, từ hôm nay trở về trước."
    if (today - date).days > back_days:
        return None, (f"Chỉ ghi bù được trong {back_days} ngày gần đây (từ {vn_date(today - dt.timedelta(days=back_days))}"
                      "). Việc cũ hơn bạn báo tổ trưởng nhé.")
    return date, ""


# --- a period ------------------------------------------------------------------------------------

def _month(year: int, month: int, today: dt.date) -> Period:
    start = dt.date(year, month, 1)
    nxt = dt.date(year + month // 12, month % 12 + 1, 1)
    end = min(nxt - dt.timedelta(days=1), max(today, start))
    return Period(start, end, f"tháng {month}/{year}", f"thang{month}/{year}")


def _quarter(year: int, q: int, today: dt.date) -> Period:
    start = dt.date(year, 3 * q - 2, 1)
    nxt = dt.date(year + (q == 4), 1 if q == 4 else 3 * q + 1, 1)
    end = min(nxt - dt.timedelta(days=1), max(today, start))
    return Period(start, end, f"quý {q}/{year}", f"quy{q}/{year}")


def _months_of_year(year: int, first: int, last: int, today: dt.date, label: str, arg: str) -> Period:
    start = dt.date(year, first, 1)
    end = dt.date(year + (last == 12), 1 if last == 12 else last + 1, 1) - dt.timedelta(days=1)
    return Period(start, min(end, max(today, start)), f"{label} {year}", arg)


def _named(said: str, today: dt.date) -> Period | None:
    """Periods said in words: this/last week, month, quarter, year."""
    compact = said.replace(" ", "")
    q_now = (today.month - 1) // 3 + 1
    monday = today - dt.timedelta(days=today.weekday())
    table = {
        "": "thang", "thang": "thang", "thangnay": "thang", "homnay": "homnay", "nay": "homnay",
        "ngaynay": "homnay", "homqua": "homqua", "tuan": "tuan", "tuannay": "tuan", "tuantruoc": "tuantruoc",
        "thangtruoc": "thangtruoc", "quy": "quy", "quynay": "quy", "quytruoc": "quytruoc", "nam": "nam",
        "namnay": "nam", "namtruoc": "namtruoc", "tatca": "tatca", "all": "tatca",
    }
    kind = table.get(compact)
    if kind == "thang":
        return Period(today.replace(day=1), today, f"tháng {today.month}/{today.year}", "thang")
    if kind in ("homnay", "homqua"):
        day = today - dt.timedelta(days=kind == "homqua")
        return Period(day, day, f"{'hôm nay' if kind == 'homnay' else 'hôm qua'} {vn_date(day)}", kind)
    if kind == "tuan":
        return Period(monday, today, f"tuần này ({vn_date(monday)} - {vn_date(today)})", "tuan")
    if kind == "tuantruoc":
        start = monday - dt.timedelta(days=7)
        return Period(start, monday - dt.timedelta(days=1),
                      f"tuần trước ({vn_date(start)} - {vn_date(monday - dt.timedelta(days=1))})", "tuantruoc")
    if kind == "thangtruoc":
        last = today.replace(day=1) - dt.timedelta(days=1)
        return _month(last.year, last.month, today)
    if kind in ("quy", "quytruoc"):
        q, year = (q_now, today.year) if kind == "quy" else ((q_now - 2) % 4 + 1, today.year - (q_now == 1))
        return _quarter(year, q, today)
    if kind in ("nam", "namtruoc"):
        year = today.year - (kind == "namtruoc")
        return _months_of_year(year, 1, 12, today, "năm", f"nam{year}")
    if kind == "tatca":
        return Period(FIRST_DAY, today, "từ trước đến nay", "tatca")
    return None


def _numbered(said: str, today: dt.date) -> Period | None:
    """'thang 10', 'thang 10/2025', 'quy 3', 'quy III 2025', 'nam 2025', '6 thang', '9 thang'."""
    m = re.fullmatch(r"(thang|t|quy|q)\s*(\d{1,2}|i{1,3}|iv)(?:\s*(?:/|nam)?\s*(\d{4}))?", said)
    if m:
        kind, n = m.group(1), ROMAN.get(m.group(2)) or int(m.group(2))
        if kind in ("thang", "t") and 1 <= n <= 12:
            year = int(m.group(3)) if m.group(3) else today.year - (n > today.month)
            return _month(year, n, today)
        if kind in ("quy", "q") and 1 <= n <= 4:
            year = int(m.group(3)) if m.group(3) else today.year - (3 * n - 2 > today.month)
            return _quarter(year, n, today)
        return None
    m = re.fullmatch(r"nam\s*(\d{4})", said)
    if m and 2000 <= int(m.group(1)) <= today.year:
        return _months_of_year(int(m.group(1)), 1, 12, today, "năm", f"nam{m.group(1)}")
    m = re.fullmatch(r"(6|9)\s*thang(?:\s*(dau|cuoi)(?:\s*nam)?)?(?:\s*(\d{4}))?", said)
    if m:
        year = int(m.group(3)) if m.group(3) else today.year
        if m.group(1) == "6" and m.group(2) == "cuoi":
            return _months_of_year(year, 7, 12, today, "6 tháng cuối năm", f"6thangcuoi{year}")
        n = int(m.group(1))
        return _months_of_year(year, 1, n, today, f"{n} tháng đầu năm", f"{n}thang{year}")
    return None


def period_bounds_problem(first: dt.date, second: dt.date, today: dt.date) -> str | None:
    """Why a typed range is refused (too early, too far ahead, too long: bounded work), or None."""
    if first < FIRST_DAY:
        return f"Ngày bắt đầu phải từ {vn_date(FIRST_DAY)} trở đi."
    if second > today + MAX_AHEAD:
        return "Ngày kết thúc không được quá một năm kể từ hôm nay."
    if (second - first).days + 1 > MAX_SPAN_DAYS:
        return "Mỗi lần xem được tối đa 5 năm."
    return None


def period_refusal(period: Period, today: dt.date) -> str | None:
    """The reply for a period too wide to report on, whatever parsed it ("tất cả" is bounded by the data)."""
    if period.arg == "tatca":
        return None
    problem = period_bounds_problem(period.start, period.end, today)
    if problem is None:
        return None
    return (f"Khoảng thời gian {period.label} dài quá hoặc không hợp lệ. {problem} Bạn gõ lại, "
            f"ví dụ 01/01/{today.year}-{vn_date(today)}, hoặc tất cả.")


def period_error(text: str, today: dt.date) -> str:
    """The reply for a period `parse_period` refused: what was wrong, with examples of the right forms."""
    found = _range(words(text), today, bounded=False)
    problem = period_bounds_problem(found.start, found.end, today) if found else None
    if problem:
        return (f"Khoảng thời gian \"{text[:40]}\" dài quá hoặc không hợp lệ. {problem} Bạn gõ lại, "
                f"ví dụ 01/01/{today.year}-{vn_date(today)}, hoặc tất cả.")
    return f"Tôi chưa hiểu khoảng thời gian \"{text[:40]}\". {PERIOD_HELP}"


def _range(said: str, today: dt.date, bounded: bool = True) -> Period | None:
    """'1/11-15/11', '01/11/2026 - 15/11/2026', 'tu 1/11 den 15/11', or one date."""
    said = re.sub(r"^tu\s+", "", said)
    parts = re.split(r"\s*(?:den|toi|~|\s-\s)\s*", said)
    if len(parts) == 1:
        m = re.fullmatch(rf"({_DATE.pattern})\s*-\s*({_DATE.pattern})", said)
        parts = [m.group(1), m.group(5)] if m else parts
    if len(parts) > 2:
        return None
    first, last = (_calendar_day(p.strip(), today) for p in (parts[0], parts[-1]))
    if not isinstance(first, dt.date) or not isinstance(last, dt.date):
        return None
    if first > last and len(parts) == 2 and (typed := _DATE.fullmatch(parts[0])) and not typed.group(3):
        earlier = first.replace(year=first.year - 1)  # "15/12-10/1" typed in January
        # "15/11-1/11": the two days typed the other way round, not a year less two weeks.
        first, last = (earlier, last) if (last - earlier).days <= 92 else (last, first)
    if first > last or (bounded and period_bounds_problem(first, last, today)):
        return None
    label = vn_date(first) if first == last else f"{vn_date(first)} - {vn_date(last)}"
    arg = vn_date(first) if first == last else f"{vn_date(first)}-{vn_date(last)}"
    return Period(first, last, label, arg)


def parse_period(text: str, today: dt.date) -> Period | None:
    """A report period from what a leader typed, or None (then show PERIOD_HELP)."""
    said = _LEAD.sub("", words(text))
    said = _TRAIL.sub("", re.sub(r"\bngay\s+(?=\d)", "", said)).strip()  # "từ ngày 1/11 đến ngày 15/11"
    said = re.sub(r"\b(tuan|thang|quy|nam) (?:vua )?roi$", r"\1 truoc", said)  # "tuần rồi" said in the South
    return _named(said, today) or _numbered(said, today) or _range(said, today)


# Words around a period that name no time: "xuất file báo cáo", "báo cáo tổ tháng này", "tuần này của tổ nhé",
# "ngày hôm qua".
_LEAD = re.compile(r"^(?:(?:trong|cua|bao cao|bc|file|excel|tep|cua to|ca to|to|ngay)(?:\s+|$))+")
_TRAIL = re.compile(r"(?:\s+(?:cua to minh|cua to|ca to|to minh|to|nhe|nha|a|giup toi|giup|voi|di))+$")


# --- a day ahead (a follow-up's due date) ---------------------------------------------------------

AHEAD_EXAMPLES = "ngày mai, ngày kia, 3 ngày nữa, tuần sau, thứ 6, hoặc ngày/tháng như 25/11"


def parse_due(text: str, today: dt.date, max_days: int = 366) -> tuple[dt.date | None, str]:
    """A day from today on, as people say it: 'mai', 'ngày kia', '3 ngày nữa', 'tuần sau', 'thứ 6', '25/11'."""
    said = words(text).removeprefix("ngay ").strip()
    ahead = {"hom nay": 0, "nay": 0, "mai": 1, "ngay mai": 1, "mai nay": 1, "kia": 2, "mot": 2,
             "tuan sau": 7, "tuan toi": 7}.get(said)
    m = re.fullmatch(r"(\d{1,3}) (ngay|hom|tuan) (nua|toi|sau)", said)
    if ahead is None and m:
        ahead = int(m.group(1)) * (7 if m.group(2) == "tuan" else 1)
    date: dt.date | None = today + dt.timedelta(days=ahead) if ahead is not None else None
    if date is None:
        weekday = _weekday(said.removesuffix(" nay").removesuffix(" toi").strip())
        if weekday is not None:  # the next such weekday, never today
            date = today + dt.timedelta(days=(weekday - today.weekday() - 1) % 7 + 1)
    if date is None:
        found = _calendar_day(said, today, prefer_past=False)
        if isinstance(found, str):
            return None, f"{found} Bạn gõ lại giúp tôi, ví dụ: {AHEAD_EXAMPLES}."
        if found is not None and found < today and not re.search(r"\d{1,2}\D\d{1,2}\D\d{2,4}", said):
            try:  # "05/01" typed in November means next January
                found = found.replace(year=found.year + 1)
            except ValueError:
                return None, f"Ngày {said} không có trên lịch. Bạn gõ lại giúp tôi, ví dụ: {AHEAD_EXAMPLES}."
        date = found
    if date is None:
        return None, f"Tôi chưa hiểu ngày \"{text.strip()[:30]}\". Bạn gõ: {AHEAD_EXAMPLES}."
    if date < today:
        return None, f"Ngày {vn_date(date)} đã qua. Bạn chọn một ngày từ hôm nay trở đi nhé."
    if (date - today).days > max_days:
        return None, "Ngày hẹn xa quá một năm. Bạn gõ lại ngày giúp tôi."
    return date, ""
