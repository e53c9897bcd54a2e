"""A member's own records (/cuatoi, /sua, /xoa) and a leader's erasure of a household (/xoadulieu)."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field
from typing import Any

from bot import assist, flows, notify, review, teams
from bot.access import IN_GROUP, LEADERS, NOT_OWN_RECORD, Actor, Admin, member_for
from bot.core import Deps, Incoming, Reply, Session
from bot.export import forget_team_exports
from bot.flows import Step, Turn
from bot.when import parse_day

from .assist import GHI, NOT_LEADER_EDIT, GhiDraft, clean_name, team_member
from .flowkit import arg_text, begin

# --- a member's own records ---------------------------------------------------------------------

def _line(r: assist.RecordView) -> str:
    cat = assist.catalogue()
    services = ", ".join(s.label for c in r.services if (s := cat.get(c)))
    state = {"approved": " (đã duyệt)", "fix": f" ✏️ Cần sửa: {r.review_note or 'xem lại phiếu'} (gõ /sua {r.id})"}
    return (f"Số {r.id}: {r.head_name or '(đã xóa tên)'}, {assist.village_label(r.village)}, {services}. "
            f"{assist.OUTCOMES.get(r.outcome, r.outcome)}{state.get(r.review, '')}")


async def mine(incoming: Incoming, deps: Deps, session: Session) -> list[Reply]:
    """/cuatoi: my records today and this week, with receipt numbers."""
    member = team_member(deps, incoming)
    if isinstance(member, list):  # refused
        return member
    today = deps.clock().date()
    week_start = today - dt.timedelta(days=today.weekday())
    rows = assist.member_records(deps.storage.db, member.id, week_start)
    today_rows = [r for r in rows if r.helped_on == today.isoformat()]
    earlier = [r for r in rows if r.helped_on != today.isoformat()]
    parts = [f"Hôm nay bạn ghi {len(today_rows)} phiếu, tuần này {len(rows)} phiếu."]
    if today_rows:
        parts.append("Hôm nay:\n" + "\n".join(_line(r) for r in today_rows[:20]))
    if earlier:
        parts.append("Trước đó trong tuần:\n" + "\n".join(_line(r) for r in earlier[:20]))
    if rows:
        parts.append("Sửa: /sua <số phiếu>. Xóa: /xoa <số phiếu> (trong 7 ngày).")
    else:
        parts.append("Gõ /ghi để ghi nhận hộ dân bạn đã hỗ trợ.")
    return [Reply("\n\n".join(parts))]


def _own_record(deps: Deps, incoming: Incoming, usage: str) -> tuple[Actor, assist.RecordView] | list[Reply]:
    """The member and a record they may change: their own recent one, or (leaders, admins) one of
    their team's within LEADER_EDIT_DAYS; else the refusal to send. A leader's change of someone
    else's record asks for a reason."""
    found = member_for(deps, incoming.user_key)
    # A configured admin without a team may still correct any team's record; everyone else must be in one.
    member: Actor
    if isinstance(found, Admin) and not incoming.is_group:
        member = found
    else:
        gate = team_member(deps, incoming)
        if isinstance(gate, list):  # refused
            return gate
        member = gate
    number = (arg_text(incoming.text).lstrip("#").split() or [""])[0]
    if not number.isdigit():
        return [Reply(usage)]
    record = assist.get_record(deps.storage.db, int(number))
    days = deps.settings.leader_edit_days
    if record is not None and record.editable_by(member.id, deps.clock(), days):
        return member, record
    if record is not None and record.member_id != member.id and review.may_correct(member, record, deps.clock(), days):
        return member, record
    if member.is_leader:
        return [Reply(NOT_LEADER_EDIT.format(days=days))]
    return [Reply(NOT_OWN_RECORD.format(days=assist.EDIT_DAYS))]


def _owner_name(deps: Deps, record: assist.RecordView) -> str:
    return review.member_name(deps.storage.db, record.member_id)


async def edit(incoming: Incoming, deps: Deps, session: Session) -> list[Reply]:
    """/sua <số>: change services, outcome, note and the day of one's own recent record."""
    own = _own_record(deps, incoming, "Bạn gõ /sua kèm số phiếu, ví dụ /sua 12. Xem số phiếu bằng /cuatoi.")
    if isinstance(own, list):  # refused
        return own
    member, record = own
    correcting = record.member_id != member.id
    said_day = "" if correcting else arg_text(incoming.text).lstrip("#").partition(" ")[2].strip()
    day, why = parse_day(said_day, deps.clock().date(), deps.settings.backdate_days) if said_day else (None, "")
    if said_day and day is None:
        return [Reply(why)]
    draft = GhiDraft(rid=secrets.token_hex(8), team_id=record.team_id,
                     member_id=record.member_id, village=record.village, name=record.head_name,
                     household_id=record.household_id, services=list(record.services), outcome=record.outcome,
                     reason=record.reason, followup_on=record.followup_on, note=record.note,
                     helped_on=record.helped_on, edit=record.id)
    if correcting:
        draft.corrector, draft.owner = incoming.user_key, _owner_name(deps, record)
        return begin(GHI, "why", draft, incoming, deps, session)
    asked = (f" Tổ trưởng nhắn cần sửa: {record.review_note}." if record.review == "fix" and record.review_note
             else "")
    if day is not None:  # "/sua 12 hôm qua": only the day changes; straight to the summary
        draft.helped_on = day.isoformat()
        return begin(GHI, "confirm", draft, incoming, deps, session)
    return begin(GHI, "services", draft, incoming, deps, session,
                 Reply(f"Sửa phiếu số {record.id}.{asked} Tôi hỏi lại việc đã hỗ trợ, kết quả và ghi chú; "
                       f"ngày hỗ trợ đổi được ở bước cuối (hoặc gõ /sua {record.id} hôm qua)."))


# --- /xoa: delete one's own record, after a confirm ----------------------------------------------

@dataclass
class DeleteDraft:
    record_id: int = 0
    corrector: str | None = None  # who is voiding someone else's record (a leader's or an admin's user key)
    why: str = ""
    owner: str = ""


def ask_delete(t: Turn[DeleteDraft]) -> list[Reply]:
    record = assist.get_record(t.deps.storage.db, t.draft.record_id)
    what = _line(record) if record else f"phiếu số {t.draft.record_id}"
    head = f"Hủy phiếu này của {t.draft.owner} (lý do: {t.draft.why})?" if t.draft.corrector is not None \
        else "Xóa phiếu này?"
    return [Reply(f"{head}\n{what}", (t.choice("Xóa", "yes"), t.choice("Không xóa", "no")))]


def ask_void_why(t: Turn[DeleteDraft]) -> list[Reply]:
    return [Reply(f"Bạn sắp hủy phiếu số {t.draft.record_id} của {t.draft.owner or 'thành viên'}. Bạn gõ ngắn gọn "
                  "lý do (thành viên sẽ được báo), ví dụ: ghi trùng với phiếu khác.")]


def type_void_why(t: Turn[DeleteDraft], text: str) -> list[Reply] | None:
    why = review.reason(text)
    if why is None:
        return None
    t.draft.why = why
    return t.go("confirm")


async def delete_yes(t: Turn[DeleteDraft], _arg: str) -> list[Reply]:
    record = assist.get_record(t.deps.storage.db, t.draft.record_id)
    days = t.deps.settings.leader_edit_days
    if t.draft.corrector is not None:
        member = member_for(t.deps, t.incoming.user_key)
        if member is None or record is None or t.incoming.user_key != t.draft.corrector or not review.may_correct(
                member, record, t.deps.clock(), days):
            return t.end(Reply(NOT_LEADER_EDIT.format(days=days)))
        assist.delete_record(t.deps.storage, record.id, member.actor_id, t.deps.clock(), why=t.draft.why)
        told = await notify.tell(t.deps, record.member_id, (
            f"Tổ trưởng {member.display_name} đã hủy phiếu số {record.id} của bạn "
            f"({record.head_name or 'hộ đã xóa tên'}). Lý do: {t.draft.why}"))
        return t.end(Reply(f"Đã hủy phiếu số {record.id}; lý do được lưu trong lịch sử sửa đổi. "
                           + ("Đã báo cho thành viên." if told else "(Chưa nhắn được cho thành viên lúc này.)")))
    logger = team_member(t.deps, t.incoming)
    if isinstance(logger, list):  # refused
        return t.end(*logger)
    if record is None or not record.editable_by(logger.id, t.deps.clock(), days):
        return t.end(Reply(NOT_OWN_RECORD.format(days=assist.EDIT_DAYS)))
    assist.delete_record(t.deps.storage, record.id, logger.id, t.deps.clock())
    return t.end(Reply(f"Đã xóa phiếu số {record.id}."))


XOA = flows.Flow(
    name="xoa", draft=DeleteDraft,
    steps={"confirm": Step(ask_delete, {"yes": delete_yes,
                                        "no": lambda t, _a: t.end(Reply(f"Đã giữ nguyên phiếu số {t.draft.record_id}."))},
                           view=True),
           "why": Step(ask_void_why, {}, type_void_why, free_text=True,
                       expects="Bạn gõ lý do hủy (ít nhất vài chữ), ví dụ: ghi trùng với phiếu khác.")},
    cancelled=lambda d: f"Đã giữ nguyên phiếu số {d.record_id}.",
)


async def delete(incoming: Incoming, deps: Deps, session: Session) -> list[Reply]:
    """/xoa <số>: soft-delete one's own recent record, after a confirm."""
    own = _own_record(deps, incoming, "Bạn gõ /xoa kèm số phiếu, ví dụ /xoa 12. Xem số phiếu bằng /cuatoi.")
    if isinstance(own, list):  # refused
        return own
    member, record = own
    if record.member_id != member.id:
        draft = DeleteDraft(record.id, incoming.user_key, "", _owner_name(deps, record))
        return begin(XOA, "why", draft, incoming, deps, session)
    return begin(XOA, "confirm", DeleteDraft(record.id), incoming, deps, session)


# --- /xoadulieu: erase a household's personal data (leaders) ---------------------------------------

@dataclass
class EraseDraft:
    team_id: int = 0
    options: list[list[Any]] = field(default_factory=list)  # [label, household id]
    household_id: int | None = None


def ask_pick(t: Turn[EraseDraft]) -> list[Reply]:
    return [Reply("Xóa thông tin cá nhân của hộ nào? (Số lượt hỗ trợ vẫn được giữ, không kèm tên.)",
                  tuple(t.choice(label, f"h:{hid}") for label, hid in t.draft.options) + (t.choice("Không xóa", "no"),))]


def ask_erase(t: Turn[EraseDraft]) -> list[Reply]:
    return [Reply("Xóa tên và số điện thoại đuôi của hộ này? Việc này không hoàn tác được.",
                  (t.choice("Xóa thông tin", "yes"), t.choice("Không xóa", "no")))]


def pick_erase(t: Turn[EraseDraft], arg: str) -> list[Reply] | None:
    if not arg.isdigit() or int(arg) not in [hid for _, hid in t.draft.options]:
        return None
    t.draft.household_id = int(arg)
    return t.go("confirm")


def erase_yes(t: Turn[EraseDraft], _arg: str) -> list[Reply]:
    member = member_for(t.deps, t.incoming.user_key)
    done = assist.erase_household(t.deps.storage, t.draft.household_id or 0, t.draft.team_id,
                                  member.actor_id if member else None, t.deps.clock())
    team = teams.get_team(t.deps.storage, t.draft.team_id)
    if done and team is not None:  # old exports and their links still name the household
        forget_team_exports(t.deps.storage, t.deps.settings.export_dir, team.name)
    return t.end(Reply("Đã xóa thông tin cá nhân của hộ. Số lượt hỗ trợ vẫn được giữ để báo cáo, không kèm tên."
                       if done else "Hộ này đã được xóa thông tin từ trước."))


def _keep(t: Turn[EraseDraft], _arg: str) -> list[Reply]:
    return t.end(Reply("Đã giữ nguyên, không xóa gì."))


XOADULIEU = flows.Flow(
    name="xoadulieu", draft=EraseDraft, guard=LEADERS.guard(team=lambda d: d.team_id),
    steps={"pick": Step(ask_pick, {"h": pick_erase, "no": _keep}, view=True),
           "confirm": Step(ask_erase, {"yes": erase_yes, "no": _keep}, view=True)},
    cancelled=lambda _d: "Đã giữ nguyên, không xóa gì.",
)


@LEADERS
async def erase(incoming: Incoming, deps: Deps, session: Session, member: Actor) -> list[Reply]:
    """/xoadulieu <tên chủ hộ>: erase a household's name and phone digits, keep anonymous counts."""
    if incoming.is_group:
        return [Reply(IN_GROUP)]
    if member.team_id is None:
        return [Reply("Lệnh này làm theo từng tổ: hãy nhờ tổ trưởng của tổ có hộ đó thực hiện.")]
    name = clean_name(arg_text(incoming.text))[0]
    if not name:
        return [Reply("Bạn gõ /xoadulieu kèm tên chủ hộ, ví dụ: /xoadulieu Nguyễn Văn An.")]
    found = assist.find_households(deps.storage.db, member.team_id, name, None, limit=8)
    if not found:
        return [Reply(f"Không tìm thấy hộ nào tên gần với \"{name}\" trong tổ. Bạn kiểm tra lại tên nhé.")]
    names = {v.id: v.name for v in teams.villages(deps.storage, member.team_id)}
    options = [[f"{h.label}, {assist.village_label(names.get(h.village_id, ''))}", h.id] for h in found]
    return begin(XOADULIEU, "pick", EraseDraft(member.team_id, options), incoming, deps, session)


COMMANDS = {"/cuatoi": mine, "/sua": edit, "/xoa": delete, "/xoadulieu": erase}
FLOWS = {"xoa": XOA, "xoadulieu": XOADULIEU}
HELP = [
    ("/cuatoi", "xem các phiếu bạn đã ghi hôm nay và tuần này", "member"),
    ("/sua <số>", "sửa phiếu của bạn (trong 7 ngày), cả ngày hỗ trợ", "member"),
    ("/xoa <số>", "xóa phiếu của bạn (trong 7 ngày)", "member"),
    ("/sua <số> hoặc /xoa <số>", "sửa hoặc hủy phiếu của thành viên trong tổ (có lý do, thành viên được báo)",
     "leader"),
    ("/xoadulieu <tên>", "xóa thông tin cá nhân của một hộ theo yêu cầu", "leader"),
]
