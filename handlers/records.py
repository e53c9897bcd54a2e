"""A member's own records (/cuatoi, /sua, /xoa) and a leader's erasure of a household (/xoadulieu)."""

from __future__ import annotations

import datetime as dt

from bot import assist, teams
from bot.access import IN_GROUP, NOT_LEADER, NOT_OWN_RECORD, Member, member_for
from bot.core import Deps, Incoming, Reply, Session
from bot.export import forget_team_exports

from .assist import clean_name, new_draft, prompt, team_member
from .flowkit import arg_text, dropping_draft, flow_value, nudge

# --- a member's own records ---------------------------------------------------------------------

def _line(r: assist.RecordView) -> str:
    cat = assist.catalogue()
    services = ", ".join(cat.get(c).label for c in r.services if cat.get(c))
    return (f"Số {r.id}: {r.head_name or '(đã xóa tên)'}, thôn {r.village}, {services}. "
            f"{assist.OUTCOMES.get(r.outcome, r.outcome)}")


async def mine(incoming: Incoming, deps: Deps, session: Session) -> list[Reply]:
    """/cuatoi: my records today and this week, with receipt numbers."""
    member, refusal = team_member(deps, incoming)
    if refusal:
        return refusal
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


def _own_record(deps: Deps, incoming: Incoming, usage: str) -> tuple[Member | None, assist.RecordView | None,
                                                                      list[Reply] | None]:
    member, refusal = team_member(deps, incoming)
    if refusal:
        return None, None, refusal
    number = arg_text(incoming.text).lstrip("#").strip()
    if not number.isdigit():
        return None, None, [Reply(usage)]
    record = assist.get_record(deps.storage.db, int(number))
    if record is None or not record.editable_by(member.id, deps.clock()):
        return None, None, [Reply(NOT_OWN_RECORD.format(days=assist.EDIT_DAYS))]
    return member, record, None


async def edit(incoming: Incoming, deps: Deps, session: Session) -> list[Reply]:
    """/sua <số>: change services, outcome and note of one's own recent record."""
    member, record, refusal = _own_record(deps, incoming, "Bạn gõ /sua kèm số phiếu, ví dụ /sua 12. "
                                                         "Xem số phiếu bằng /cuatoi.")
    if refusal:
        return refusal
    data = new_draft(member, dt.date.fromisoformat(record.helped_on), edit=record.id,
                      village=record.village, name=record.head_name,
                      household_id=record.household_id, services=list(record.services), outcome=record.outcome,
                      reason=record.reason, followup_on=record.followup_on, note=record.note)
    dropped = dropping_draft(session)
    session.start_flow("ghi", "services", data)
    return dropped + [Reply(f"Sửa phiếu số {record.id}. Tôi hỏi lại việc đã hỗ trợ, kết quả và ghi chú.")] + prompt(deps, session)


async def delete(incoming: Incoming, deps: Deps, session: Session) -> list[Reply]:
    """/xoa <số>: soft-delete one's own recent record, after a confirm."""
    member, record, refusal = _own_record(deps, incoming, "Bạn gõ /xoa kèm số phiếu, ví dụ /xoa 12. "
                                                          "Xem số phiếu bằng /cuatoi.")
    if refusal:
        return refusal
    dropped = dropping_draft(session)
    session.start_flow("xoa", "confirm", {"record_id": record.id})
    return dropped + [Reply(f"Xóa phiếu này?\n{_line(record)}",
                  (session.flow_choice("Xóa", "yes"), session.flow_choice("Không xóa", "no")))]


async def delete_flow(incoming: Incoming, deps: Deps, session: Session) -> list[Reply]:
    record_id = session.flow["data"]["record_id"]
    value = flow_value(incoming)
    if value == "no":
        session.end_flow()
        return [Reply(f"Đã giữ nguyên phiếu số {record_id}.")]
    if value == "yes":
        session.end_flow()
        member, refusal = team_member(deps, incoming)
        if refusal:
            return refusal
        record = assist.get_record(deps.storage.db, record_id)
        if record is None or not record.editable_by(member.id, deps.clock()):
            return [Reply(NOT_OWN_RECORD.format(days=assist.EDIT_DAYS))]
        assist.delete_record(deps.storage, record_id, member.id, deps.clock())
        return [Reply(f"Đã xóa phiếu số {record_id}.")]
    return nudge(incoming) + [Reply(f"Xóa phiếu số {record_id}?", (session.flow_choice("Xóa", "yes"),
                                                                    session.flow_choice("Không xóa", "no")))]


# --- erasing a household's personal data (leaders) ----------------------------------------------

async def erase(incoming: Incoming, deps: Deps, session: Session) -> list[Reply]:
    """/xoadulieu <tên chủ hộ>: erase a household's name and phone digits, keep anonymous counts."""
    member = member_for(deps, incoming.user_key)
    if member is None or not member.is_leader:
        return [Reply(NOT_LEADER)]
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
    options = [[f"{h.label}, thôn {names.get(h.village_id, '')}", h.id] for h in found]
    dropped = dropping_draft(session)
    session.start_flow("xoadulieu", "pick", {"team_id": member.team_id, "options": options})
    return dropped + _erase_prompt(session)


def _erase_prompt(session: Session) -> list[Reply]:
    data, c = session.flow["data"], session.flow_choice
    if session.flow["step"] == "pick":
        return [Reply("Xóa thông tin cá nhân của hộ nào? (Số lượt hỗ trợ vẫn được giữ, không kèm tên.)",
                      tuple(c(label, f"h{hid}") for label, hid in data["options"]) + (c("Không xóa", "no"),))]
    return [Reply("Xóa tên và số điện thoại đuôi của hộ này? Việc này không hoàn tác được.",
                  (c("Xóa thông tin", "yes"), c("Không xóa", "no")))]


async def erase_flow(incoming: Incoming, deps: Deps, session: Session) -> list[Reply]:
    flow = session.flow
    data, value = flow["data"], flow_value(incoming)
    member = member_for(deps, incoming.user_key)
    if member is None or not member.can_see_team(data["team_id"]):
        session.end_flow()
        return [Reply(NOT_LEADER)]
    if value == "no":
        session.end_flow()
        return [Reply("Đã giữ nguyên, không xóa gì.")]
    if flow["step"] == "pick" and value and value.startswith("h") and value[1:].isdigit() \
            and int(value[1:]) in [hid for _, hid in data["options"]]:
        data["household_id"] = int(value[1:])
        session.advance("confirm")
        return _erase_prompt(session)
    if flow["step"] == "confirm" and value == "yes":
        session.end_flow()
        done = assist.erase_household(deps.storage, data["household_id"], data["team_id"], member.id or None,
                                      deps.clock())
        if done:  # old exports and their links still name the household
            forget_team_exports(deps.storage, deps.settings.export_dir, teams.get_team(deps.storage, data["team_id"]).name)
        return [Reply("Đã xóa thông tin cá nhân của hộ. Số lượt hỗ trợ vẫn được giữ để báo cáo, không kèm tên."
                      if done else "Hộ này đã được xóa thông tin từ trước.")]
    return nudge(incoming) + _erase_prompt(session)


COMMANDS = {"/cuatoi": mine, "/sua": edit, "/xoa": delete, "/xoadulieu": erase}
FLOWS = {"xoa": delete_flow, "xoadulieu": erase_flow}
HELP = [
    ("/cuatoi", "xem các phiếu bạn đã ghi hôm nay và tuần này"),
    ("/sua <số>", "sửa phiếu của bạn (trong 7 ngày)"),
    ("/xoa <số>", "xóa phiếu của bạn (trong 7 ngày)"),
    ("/xoadulieu <tên>", "tổ trưởng: xóa thông tin cá nhân của một hộ theo yêu cầu"),
]
