"""Households and the assistance log (data access only, no replies).

Writes run inside `storage.transaction()` with an audit row. A record's `request_id` is the
draft id of the flow that made it, so saving the same draft twice returns the first receipt.
Read helpers that reports may call take a `sqlite_utils.Database` (the loop's `storage.db` or a
`storage.reader()` connection). Names and notes are redacted here too, whatever the caller did.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import sqlite_utils
from rapidfuzz import fuzz

from knowledge.normalize import fold
from knowledge.services import Catalogue, load_catalogue

from .audit import audit
from .clock import iso, parse_iso
from .safety import redact, without_mask
from .storage import Storage, new_row_id

OUTCOMES = {"done": "Đã xong", "unfinished": "Chưa xong", "followup": "Hẹn lại"}
EDIT_DAYS = 7
MATCH_CUTOFF = 80
MAX_NAME = 80
MAX_NOTE = 200
MAX_PEOPLE = 50  # people helped in one household visit

_WORD = re.compile(r"[^\W_]+", re.UNICODE)


@lru_cache(maxsize=1)
def catalogue() -> Catalogue:
    return load_catalogue()


_FILLER = {"va", "voi", "cho", "giup", "da", "roi", "hotro", "ho tro", "lam", "viec"}
_SEPARATORS = re.compile(r"[,;+/&]|\bva\b|\bvoi\b")


_PHRASE_TABLES: dict[int, tuple[Catalogue, dict[str, str]]] = {}


def _phrases(cat: Catalogue) -> dict[str, str]:
    """Compact phrase (no spaces, no marks) -> service code: aliases, codes and whole labels (built once)."""
    cached = _PHRASE_TABLES.get(id(cat))
    if cached is not None and cached[0] is cat:
        return cached[1]
    table: dict[str, str] = {}
    for service in cat.services:
        for phrase in (*service.aliases, service.code.replace("_", ""), fold(service.label)):
            table.setdefault(re.sub(r"[^a-z0-9]", "", phrase), service.code)
    _PHRASE_TABLES[id(cat)] = (cat, table)
    return table


def match_services(text: str, cat: Catalogue | None = None) -> tuple[list[str], list[str]]:
    """Services named in free words, matched as phrases: 'kich hoat vneid, dvc' -> (['vneid2', 'dvc_account'], []).

    Longest phrase first, so "kích hoạt vneid" is activation, not "vneid" (installing) plus
    two unknown words. Returns the codes in order and the pieces not understood."""
    cat = cat or catalogue()
    table = _phrases(cat)
    codes: list[str] = []
    unknown: list[str] = []
    # A hidden number ("cccd [đã ẩn]") is no service word: left out, so it is never shown back as "cccd an".
    for chunk in _SEPARATORS.split(fold(without_mask(text))):
        found = _WORD.findall(chunk)
        i, missed = 0, []
        while i < len(found):
            size = next((n for n in range(min(len(found) - i, 8), 0, -1)
                         if "".join(found[i:i + n]) in table), 0)
            if size:
                code = table["".join(found[i:i + size])]
                codes += [code] if code not in codes else []
                i += size
                continue
            if found[i] not in _FILLER and " ".join(found[i:i + 2]) not in _FILLER:
                missed.append(found[i])
            elif " ".join(found[i:i + 2]) in _FILLER:
                i += 1
            i += 1
        if missed:
            unknown.append(" ".join(missed))
    return codes, unknown


def proper_name(text: str) -> str:
    """'nguyen van AN' -> 'Nguyen Van An'; diacritics and mixed-case words ('McKay') kept as typed."""
    out = []
    for word in text.split():
        if word.islower() or word.isupper():
            word = word[:1].upper() + word[1:].lower()
        out.append(word)
    return " ".join(out)


VILLAGE_WORDS = ("thon ", "xom ", "ap ", "ban ", "lang ", "to dan pho ", "khu pho ", "buon ", "soc ")


def village_label(name: str) -> str:
    """'Đông' -> 'thôn Đông'; 'Thôn Đông', 'Xóm 3' or 'Bản Mé' as they are (never 'thôn Thôn Đông')."""
    return name if fold(name).startswith(VILLAGE_WORDS) else f"thôn {name}"


def village_key(name: str) -> str:
    """The village search key without the leading 'thôn'/'xóm': 'Thon Dong' and 'Đông' compare equal."""
    key = name_key(name)
    for word in VILLAGE_WORDS:
        if key.startswith(word) and len(key) > len(word):
            return key[len(word):]
    return key


def name_key(name: str) -> str:
    """Accent-free, lower-case, single-spaced: the household search key."""
    return " ".join(_WORD.findall(fold(name)))


def clean_text(text: str, limit: int) -> tuple[str, bool]:
    """Redacted, one line, at most `limit` characters; True when something was masked."""
    guarded = redact(" ".join(text.split()))
    return guarded.text[:limit].strip(), bool(guarded.found)


@dataclass(frozen=True)
class Household:
    id: int
    village_id: int
    head_name: str
    phone_last3: str | None
    score: float = 100.0

    @property
    def label(self) -> str:
        return f"{self.head_name} (…{self.phone_last3})" if self.phone_last3 else self.head_name


def _same_given_name(a: str, b: str) -> bool:
    """Given names decide: 'an'~'anh' (a typo or a variant worth asking about), never 'an'~'nam'/'binh'."""
    return a == b or (a[:1] == b[:1] and fuzz.ratio(a, b) >= 75)


def name_score(wanted: str, key: str) -> float:
    """How close a household key is to the typed name (0-100), both from `name_key`."""
    if not wanted or not key:
        return 0.0
    q, k = wanted.split(), key.split()
    if len(q) == 1:  # just a given name or a surname typed: look at each word
        return max((fuzz.ratio(q[0], t) for t in k if _same_given_name(q[0], t)), default=0.0)
    if not _same_given_name(q[-1], k[-1]):
        return 0.0
    return max(fuzz.ratio(wanted, key), fuzz.token_sort_ratio(wanted, key))


def find_households(db: sqlite_utils.Database, team_id: int, query: str, village_id: int | None = None,
                    limit: int = 5, cutoff: float = MATCH_CUTOFF) -> list[Household]:
    """Close matches by the head's name, diacritic-insensitive and typo-tolerant, best first."""
    wanted = name_key(query)
    if not wanted:
        return []
    sql = ("SELECT id, village_id, head_name, head_key, phone_last3 FROM households "
           "WHERE team_id = ? AND erased = 0")
    args: list[Any] = [team_id]
    if village_id is not None:
        sql += " AND village_id = ?"
        args.append(village_id)
    scored = []
    for row in db.execute(sql, args).fetchall():
        score = name_score(wanted, row[3])
        if score >= cutoff:
            scored.append((score, row))
    scored.sort(key=lambda s: (-s[0], s[1][0]))
    return [Household(row[0], row[1], row[2], row[4], score) for score, row in scored[:limit]]


@dataclass
class Draft:
    """What a confirmed log entry carries; `household_id` None means a new household."""

    request_id: str
    team_id: int
    member_id: int
    village_id: int
    services: list[str]
    household_id: int | None = None
    head_name: str = ""
    phone_last3: str | None = None
    outcome: str = "done"
    reason: str | None = None
    followup_on: str | None = None
    note: str | None = None
    helped_on: str = ""
    people: int = 1  # people of the household who were helped
    achievements: dict[str, int] | None = None  # achievement code (knowledge/indicators.yaml) -> people/accounts


@dataclass(frozen=True)
class Saved:
    record_id: int
    created: bool  # False when this draft had already been saved


def _record_dict(conn: sqlite3.Connection, record_id: int) -> dict[str, Any] | None:
    cur = conn.execute("SELECT * FROM records WHERE id = ?", (record_id,))
    row = cur.fetchone()
    if row is None:
        return None
    return dict(zip([c[0] for c in cur.description], row, strict=True))


def _stored(conn: sqlite3.Connection, record_id: int) -> dict[str, Any]:
    """A record this transaction just wrote (so it exists)."""
    record = _record_dict(conn, record_id)
    if record is None:
        raise sqlite3.IntegrityError(f"record {record_id} vanished inside its transaction")
    return record


_NOT_AUDITED = ("id", "request_id", "created_at", "updated_at")  # kept elsewhere in the audit row or record


def audit_state(record: dict[str, Any]) -> dict[str, Any]:
    """A record as the audit trail keeps it after a create: its fields without empty ones."""
    return {k: v for k, v in record.items() if k not in _NOT_AUDITED and v is not None}


def audit_change(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the fields an update or delete changed, before and after."""
    keys = [k for k in after if k not in _NOT_AUDITED and before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}


def _services_rows(conn: sqlite3.Connection, record_id: int, services: list[str]) -> None:
    cat = catalogue()
    conn.execute("DELETE FROM record_services WHERE record_id = ?", (record_id,))
    for code in services:
        service = cat.get(code)
        if service is not None:
            conn.execute("INSERT INTO record_services (record_id, service, skill) VALUES (?, ?, ?)",
                         (record_id, code, service.skill))


def set_achievements(conn: sqlite3.Connection, record_id: int, achieved: dict[str, int]) -> None:
    """Replace a record's achievements (people or accounts per achievement code; zero rows dropped)."""
    conn.execute("DELETE FROM record_achievements WHERE record_id = ?", (record_id,))
    kept = {code: int(count) for code, count in sorted(achieved.items()) if count and 0 < count <= MAX_PEOPLE}
    for code, count in kept.items():
        conn.execute("INSERT INTO record_achievements (record_id, achievement, count) VALUES (?, ?, ?)",
                     (record_id, code, count))
    conn.execute("UPDATE records SET achieved = ? WHERE id = ?", (achieved_text(kept), record_id))


def achieved_text(achieved: dict[str, int]) -> str:
    """The copy kept on the record row: 'payment_account:1,vneid2_active:2'."""
    return ",".join(f"{code}:{count}" for code, count in sorted(achieved.items()) if count)


def parse_achieved(text: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for part in (text or "").split(","):
        code, _, count = part.partition(":")
        if code and count.isdigit():
            out[code] = out.get(code, 0) + int(count)
    return out


def _valid_services(services: list[str]) -> list[str]:
    cat = catalogue()
    codes = [c for c in dict.fromkeys(services) if cat.get(c) is not None]
    if not codes:
        raise ValueError("no known service")
    return codes


def save_record(storage: Storage, draft: Draft, now: dt.datetime) -> Saved:
    """Create the household if new, then the record, in one transaction; idempotent on request_id."""
    services = _valid_services(draft.services)
    note = clean_text(draft.note, MAX_NOTE)[0] or None if draft.note else None
    reason = clean_text(draft.reason, MAX_NOTE)[0] or None if draft.reason else None
    with storage.transaction() as conn:
        row = conn.execute("SELECT id FROM records WHERE request_id = ?", (draft.request_id,)).fetchone()
        if row is not None:
            return Saved(row[0], False)
        household_id = draft.household_id
        if household_id is None:
            name = clean_text(draft.head_name, MAX_NAME)[0]
            phone = draft.phone_last3 if draft.phone_last3 and re.fullmatch(r"\d{3}", draft.phone_last3) else None
            household_id = new_row_id(conn.execute(
                "INSERT INTO households (team_id, village_id, head_name, head_key, phone_last3, created_by, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (draft.team_id, draft.village_id, name, name_key(name), phone, draft.member_id, iso(now))))
            # The audit trail never holds personal fields, so /xoadulieu really erases them.
            audit(conn, now, draft.member_id, "households", household_id, "create", None,
                  {"village_id": draft.village_id})
        else:
            found = conn.execute("SELECT village_id FROM households WHERE id = ? AND team_id = ?",
                                 (household_id, draft.team_id)).fetchone()
            if found is None:
                raise ValueError("household not in team")
        record_id = new_row_id(conn.execute(
            "INSERT INTO records (request_id, team_id, member_id, household_id, village_id, helped_on, services, "
            "outcome, reason, followup_on, note, created_at, updated_at, logged_on) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (draft.request_id, draft.team_id, draft.member_id, household_id, draft.village_id,
             draft.helped_on or now.date().isoformat(), ",".join(services), draft.outcome,
             reason, draft.followup_on, note, iso(now), iso(now), now.date().isoformat())))
        _services_rows(conn, record_id, services)
        conn.execute("UPDATE records SET people = ? WHERE id = ?", (max(1, min(draft.people, MAX_PEOPLE)), record_id))
        set_achievements(conn, record_id, draft.achievements or {})
        audit(conn, now, draft.member_id, "records", record_id, "create", None,
              audit_state(_stored(conn, record_id)))
    return Saved(int(record_id), True)


def record_for_request(db: sqlite_utils.Database, request_id: str) -> int | None:
    """The receipt already saved for a draft id, if any (the save button pressed again)."""
    row = db.execute("SELECT id FROM records WHERE request_id = ?", [request_id]).fetchone()
    return int(row[0]) if row else None


@dataclass(frozen=True)
class RecordView:
    id: int
    member_id: int
    team_id: int
    household_id: int
    head_name: str
    village: str
    helped_on: str
    services: list[str]
    outcome: str
    reason: str | None
    followup_on: str | None
    note: str | None
    created_at: str
    deleted: bool
    review: str = "new"  # new | approved | fix
    review_note: str | None = None

    def editable_by(self, member_id: int | None, now: dt.datetime, leader_days: int = 30) -> bool:
        """Own, not deleted, made within EDIT_DAYS (a record a leader sent back to fix: within leader_days)."""
        days = max(EDIT_DAYS, leader_days) if self.review == "fix" else EDIT_DAYS
        return (self.member_id == member_id and not self.deleted
                and now - parse_iso(self.created_at) <= dt.timedelta(days=days))


_VIEW_SQL = (
    "SELECT r.id, r.member_id, r.team_id, r.household_id, h.head_name, v.name, r.helped_on, r.services, "
    "r.outcome, r.reason, r.followup_on, r.note, r.created_at, r.deleted, r.review, r.review_note FROM records r "
    "JOIN households h ON h.id = r.household_id JOIN villages v ON v.id = r.village_id "
)


def _view(row: tuple[Any, ...]) -> RecordView:
    values = list(row)
    values[7] = [s for s in values[7].split(",") if s]
    values[13] = bool(values[13])
    return RecordView(*values)


def get_record(db: sqlite_utils.Database, record_id: int) -> RecordView | None:
    row = db.execute(_VIEW_SQL + "WHERE r.id = ?", [record_id]).fetchone()
    return _view(row) if row else None


def record_results(db: sqlite_utils.Database, record_id: int) -> tuple[int, dict[str, int]]:
    """People helped and what was achieved (code -> people or accounts) on a record."""
    row = db.table("records").get(record_id)
    return int(row["people"]), parse_achieved(row["achieved"])


def member_records(db: sqlite_utils.Database, member_id: int, since: dt.date, limit: int = 200) -> list[RecordView]:
    """A member's own records helped on or after `since`, newest first (deleted ones left out)."""
    rows = db.execute(_VIEW_SQL + "WHERE r.member_id = ? AND r.deleted = 0 AND r.helped_on >= ? "
                      "ORDER BY r.id DESC LIMIT ?", [member_id, since.isoformat(), limit]).fetchall()
    return [_view(row) for row in rows]


def update_record(storage: Storage, record_id: int, actor: int | None, changes: dict[str, Any], now: dt.datetime,
                  why: str | None = None) -> bool:
    """Change services / outcome / reason / followup_on / note / helped_on / people / achieved (a dict of
    achievement code -> people or accounts) of a live record, with an audit row.

    When the member who logged it edits it, a reviewed record goes back to 'new' (to be reviewed again);
    someone else's edit (a leader's correction) carries `why` and leaves the review state alone."""
    allowed = {"services", "outcome", "reason", "followup_on", "note", "helped_on", "people", "achieved"}
    changes = {k: v for k, v in changes.items() if k in allowed}
    achieved = changes.pop("achieved", None)
    if "people" in changes:
        changes["people"] = max(1, min(int(changes["people"]), MAX_PEOPLE))
    if "services" in changes:
        services = _valid_services(list(changes["services"]))
        changes["services"] = ",".join(services)
    for key in ("note", "reason"):
        if changes.get(key):
            changes[key] = clean_text(changes[key], MAX_NOTE)[0] or None
    with storage.transaction() as conn:
        before = _record_dict(conn, record_id)
        if before is None or before["deleted"]:
            return False
        if actor == before["member_id"] and before.get("review", "new") != "new":
            changes.update(review="new", review_note=None)
        sets = "".join(f"{k} = ?, " for k in changes)
        conn.execute(f"UPDATE records SET {sets}updated_at = ? WHERE id = ?",
                     [*changes.values(), iso(now), record_id])
        if "services" in changes:
            _services_rows(conn, record_id, changes["services"].split(","))
        if achieved is not None:
            set_achievements(conn, record_id, dict(achieved))
        audit(conn, now, actor, "records", record_id, "update", *audit_change(before, _stored(conn, record_id)),
              why=why)
    return True


def delete_record(storage: Storage, record_id: int, actor: int | None, now: dt.datetime,
                  why: str | None = None) -> bool:
    """Soft delete (deleted = 1) with an audit row; False if missing or already deleted."""
    with storage.transaction() as conn:
        before = _record_dict(conn, record_id)
        if before is None or before["deleted"]:
            return False
        conn.execute("UPDATE records SET deleted = 1, updated_at = ? WHERE id = ?", (iso(now), record_id))
        audit(conn, now, actor, "records", record_id, "delete", *audit_change(before, _stored(conn, record_id)),
              why=why)
    return True


def erase_household(storage: Storage, household_id: int, team_id: int, actor: int | None,
                    now: dt.datetime) -> bool:
    """Erase a household's personal fields (and its records' notes), keeping anonymous counts."""
    with storage.transaction() as conn:
        row = conn.execute("SELECT erased FROM households WHERE id = ? AND team_id = ?",
                           (household_id, team_id)).fetchone()
        if row is None or row[0]:
            return False
        conn.execute("UPDATE households SET head_name = '', head_key = '', phone_last3 = NULL, erased = 1 "
                     "WHERE id = ?", (household_id,))
        conn.execute("UPDATE records SET note = NULL, review_note = NULL WHERE household_id = ?", (household_id,))
        conn.execute("UPDATE followup_closes SET note = NULL WHERE record_id IN "
                     "(SELECT id FROM records WHERE household_id = ?)", (household_id,))
        # Notes may name the family: scrub them from the trail of this household's records too.
        for column in ("before", "after"):
            conn.execute(
                f"UPDATE audit SET {column} = json_remove({column}, '$.note') WHERE table_name = 'records' "
                f"AND {column} IS NOT NULL AND row_id IN (SELECT id FROM records WHERE household_id = ?)",
                (household_id,))
        audit(conn, now, actor, "households", household_id, "erase", {"erased": 0}, {"erased": 1})
    storage.scrub_pending = True  # checkpoint once the conversation state is saved too (see Storage)
    return True
