"""Leaders in control of the log: who may correct or void a record, review states, the audit of changes.

A leader (or an admin, for any team) may edit or void a live record of their own team made within
LEADER_EDIT_DAYS, with a short reason kept in the audit row. Each record is 'new', 'approved' or 'fix'
(sent back with a note); the member's own edit returns it to 'new' (bot/assist.update_record).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from .access import Actor
from .assist import MAX_NOTE, OUTCOMES, RecordView, catalogue, clean_text, village_label
from .audit import audit
from .clock import iso, parse_iso
from .storage import Storage

PAGE = 5  # records on one /duyet screen
MAX_WHY = 150


def may_correct(member: Actor | None, record: RecordView | None, now: dt.datetime, days: int) -> bool:
    """A leader of the record's team (an admin: any team), a live record made within `days`."""
    return (member is not None and record is not None and not record.deleted and member.is_leader
            and member.can_see_team(record.team_id)
            and now - parse_iso(record.created_at) <= dt.timedelta(days=days))


MIN_WHY = 3  # characters: "ok" says nothing to the member


def reason(text: str) -> str | None:
    """A reason or note as stored (cleaned, cut to MAX_WHY), or None when it is too short to tell anyone
    anything: the caller asks again."""
    why = clean_text(text, MAX_WHY)[0]
    return why if len(why) >= MIN_WHY else None


def fix_request(leader: str, record_id: int, note: str) -> str:
    """What the member is told when a leader sends a record back ("Cần sửa"), from chat or the web view."""
    return (f"✏️ Tổ trưởng {leader} nhờ bạn sửa phiếu số {record_id}: {note}\n"
            f"Bạn gõ /sua {record_id} để sửa; sửa xong, phiếu được duyệt lại.")


def fix_marked(record_id: int, told: bool) -> str:
    """What the leader is told after sending a record back."""
    return (f"Đã đánh dấu phiếu số {record_id} cần sửa"
            + (" và nhắn thành viên." if told else " (chưa nhắn được cho thành viên lúc này; họ sẽ thấy khi gõ /cuatoi)."))


@dataclass(frozen=True)
class Pending:
    id: int
    member_id: int
    member: str
    head_name: str
    village: str
    helped_on: str
    services: list[str]
    outcome: str


def pending(db: sqlite_utils.Database, team_id: int, before_id: int | None = None,
            limit: int = PAGE) -> list[Pending]:
    """Unreviewed live records of a team, newest first (ids below `before_id`: the next screen)."""
    rows = db.execute(
        "SELECT r.id, r.member_id, m.display_name, h.head_name, v.name, r.helped_on, r.services, r.outcome "
        "FROM records r JOIN members m ON m.id = r.member_id JOIN households h ON h.id = r.household_id "
        "JOIN villages v ON v.id = r.village_id WHERE r.team_id = ? AND r.deleted = 0 AND r.review = 'new' "
        "AND r.id < ? ORDER BY r.id DESC LIMIT ?", [team_id, before_id or 2**62, limit]).fetchall()
    return [Pending(row[0], row[1], row[2], row[3], row[4], row[5], [s for s in row[6].split(",") if s], row[7])
            for row in rows]


def counts(db: sqlite_utils.Database, team_id: int) -> dict[str, int]:
    """Live records of a team by review state."""
    return dict(db.execute("SELECT review, count(*) FROM records WHERE team_id = ? AND deleted = 0 "
                           "GROUP BY review", [team_id]).fetchall())


def describe(p: Pending) -> str:
    cat = catalogue()
    services = ", ".join(s.label for c in p.services if (s := cat.get(c)))
    outcome = OUTCOMES.get(p.outcome, p.outcome)
    day = dt.date.fromisoformat(p.helped_on).strftime("%d/%m")
    return (f"Số {p.id} ({p.member}, {day}): {p.head_name or '(đã xóa tên)'}, {village_label(p.village)}; "
            f"{services}; {outcome}")


def _set(conn: Any, record_id: int, team_id: int, state: str, note: str | None, actor: int | None,
         now: dt.datetime, only_from: tuple[str, ...]) -> bool:
    marks = ",".join("?" * len(only_from))
    before = conn.execute(f"SELECT review, review_note FROM records WHERE id = ? AND team_id = ? AND deleted = 0 "
                          f"AND review IN ({marks})", (record_id, team_id, *only_from)).fetchone()
    if before is None:
        return False
    conn.execute("UPDATE records SET review = ?, review_note = ?, reviewed_by = ?, reviewed_at = ? WHERE id = ?",
                 (state, note, actor, iso(now), record_id))
    audit(conn, now, actor, "records", record_id, "review", {"review": before[0]}, {"review": state},
          why=note)
    return True


def approve(storage: Storage, team_id: int, record_ids: list[int], actor: int | None, now: dt.datetime) -> list[int]:
    """Mark unreviewed records of the team approved; the ids that changed."""
    done = []
    with storage.transaction() as conn:
        for rid in record_ids:
            if _set(conn, rid, team_id, "approved", None, actor, now, ("new",)):
                done.append(rid)
    return done


def send_back(storage: Storage, team_id: int, record_id: int, note: str, actor: int | None,
              now: dt.datetime) -> bool:
    """'Cần sửa' with a note for the member (from 'new' or 'approved')."""
    with storage.transaction() as conn:
        return _set(conn, record_id, team_id, "fix", clean_text(note, MAX_NOTE)[0] or None, actor, now,
                    ("new", "approved"))


def record_trail(db: sqlite_utils.Database, record_id: int) -> list[dict[str, Any]]:
    """The audit rows of one record, oldest first: who (name), when, action, what changed, why."""
    rows = db.execute(
        "SELECT a.at, coalesce(m.display_name, 'Quản trị'), a.action, a.before, a.after, a.why FROM audit a "
        "LEFT JOIN members m ON m.id = a.actor_member_id WHERE a.table_name = 'records' AND a.row_id = ? "
        "ORDER BY a.id", [record_id]).fetchall()
    return [{"at": at, "who": who, "action": action, "before": json.loads(b) if b else None,
             "after": json.loads(a) if a else None, "why": why} for at, who, action, b, a, why in rows]


FIELD_NAMES = {"services": "việc đã hỗ trợ", "outcome": "kết quả", "reason": "lý do", "followup_on": "ngày hẹn",
               "note": "ghi chú", "helped_on": "ngày hỗ trợ", "deleted": "đã hủy", "review": "trạng thái duyệt"}


def changed_fields(db: sqlite_utils.Database, record_id: int) -> str:
    """The fields the last change of a record touched, in words ('kết quả, ghi chú')."""
    trail = record_trail(db, record_id)
    after = (trail[-1]["after"] or {}) if trail else {}
    return ", ".join(FIELD_NAMES.get(k, k) for k in after if k not in ("review", "review_note")) or "không đổi gì"


def member_name(db: sqlite_utils.Database, member_id: int) -> str:
    row = db.execute("SELECT display_name FROM members WHERE id = ?", [member_id]).fetchone()
    return row[0] if row else ""
