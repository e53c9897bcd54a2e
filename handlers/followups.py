"""/viec: a member's open follow-ups ("Chưa xong", "Hẹn lại") by due date; close one or set another day.

Closing asks what happened (done, or no longer needed) and an optional short note; it is linked to the
original record (bot/followups.py), so reports never count the household twice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot import assist, flows, followups
from bot.core import Deps, Incoming, Reply, Session
from bot.flows import Step, Turn
from bot.when import AHEAD_EXAMPLES, parse_due, vn_date
from knowledge.normalize import fold

from .assist import SKIP_WORDS, team_member
from .flowkit import begin

MAX_SHOWN = 8


@dataclass
class TodoDraft:
    member_id: int = 0
    record_id: int | None = None
    result: str = ""


def _words(text: str) -> str:
    return " ".join(fold(text).split())


def ask_list(t: Turn[TodoDraft]) -> list[Reply]:
    items = followups.open_for_member(t.deps.storage.db, t.draft.member_id)
    if not items:
        return [Reply("Bạn không còn việc hẹn quay lại nào. Khi ghi phiếu \"Chưa xong\" hoặc \"Hẹn lại\", "
                      "việc đó sẽ hiện ở đây.")]
    today = t.deps.clock().date().isoformat()
    lines = [f"Việc cần quay lại của bạn ({len(items)}), theo ngày hẹn:"]
    for item in items[:MAX_SHOWN]:
        flag = " ⚠️ quá hẹn" if item.due < today else (" (hôm nay)" if item.due == today else "")
        lines.append(f"- {item.line()}{flag}")
    if len(items) > MAX_SHOWN:
        lines.append(f"và {len(items) - MAX_SHOWN} việc khác (xong các việc trên sẽ hiện tiếp).")
    lines.append("Chọn một việc để đánh dấu đã xong hoặc hẹn ngày khác.")
    return [Reply("\n".join(lines), tuple(t.choice(f"Số {i.record_id}: {i.head_name or '(đã xóa tên)'}",
                                                   f"pick:{i.record_id}") for i in items[:MAX_SHOWN]))]


def _item(t: Turn[TodoDraft]) -> followups.FollowUp | None:
    item = followups.get_open(t.deps.storage.db, t.draft.record_id or 0)
    return item if item is not None and item.member_id == t.draft.member_id else None


def ask_what(t: Turn[TodoDraft]) -> list[Reply]:
    item = _item(t)
    if item is None:
        return [Reply("Việc này đã được đóng hoặc phiếu đã bị xóa.", (t.choice("↩️ Danh sách việc", "back"),))]
    return [Reply(f"{item.line()}\nKết quả lần quay lại thế nào?", (
        t.choice("✅ Đã xong", "res:done"), t.choice("📅 Hẹn ngày khác", "later"),
        t.choice("🚫 Không cần nữa", "res:dropped"), t.choice("↩️ Danh sách việc", "back")))]


def ask_note(t: Turn[TodoDraft]) -> list[Reply]:
    return [Reply(f"{followups.RESULTS[t.draft.result]}. Thêm ghi chú ngắn về lần quay lại (không bắt buộc), "
                  "hoặc bấm Bỏ qua. Đừng ghi số căn cước, số điện thoại hay mật khẩu.",
                  (t.choice("Bỏ qua", "skip"),))]


def ask_day(t: Turn[TodoDraft]) -> list[Reply]:
    today = t.deps.clock().date()
    days = [(today + dt.timedelta(days=n), label) for label, n in (("Ngày mai", 1), ("3 ngày nữa", 3), ("Tuần sau", 7))]
    return [Reply(f"Hẹn quay lại ngày nào? Chọn, hoặc gõ: {AHEAD_EXAMPLES}.",
                  tuple(t.choice(f"{label} ({day.strftime('%d/%m')})", f"d:{day.isoformat()}") for day, label in days))]


def pick(t: Turn[TodoDraft], arg: str) -> list[Reply] | None:
    if not arg.isdigit():
        return None
    t.draft.record_id = int(arg)
    return t.go("what")


def result(t: Turn[TodoDraft], arg: str) -> list[Reply] | None:
    if arg not in followups.RESULTS or _item(t) is None:
        return None
    t.draft.result = arg
    return t.go("note")


def _close(t: Turn[TodoDraft], note: str | None) -> list[Reply]:
    rid = t.draft.record_id or 0
    if not followups.close(t.deps.storage, rid, t.draft.member_id, t.draft.result, note, t.deps.clock()):
        return t.end(Reply("Việc này đã được đóng rồi (hoặc phiếu đã bị xóa). Gõ /viec để xem các việc còn lại."))
    t.draft.record_id = None
    return [Reply(f"Đã ghi: phiếu số {rid} - {followups.RESULTS[t.draft.result].lower()}. Cảm ơn bạn!"),
            *t.go("list")]


def type_note(t: Turn[TodoDraft], text: str) -> list[Reply]:
    return _close(t, None if _words(text) in SKIP_WORDS else text)


def set_day(t: Turn[TodoDraft], text: str) -> list[Reply] | None:
    today = t.deps.clock().date()
    try:
        day: dt.date | None = dt.date.fromisoformat(text)
        why = ""
    except ValueError:
        day, why = parse_due(text, today)
    if day is None or day < today:
        return [Reply(why or "Ngày này đã qua."), *t.ask()]
    item = _item(t)
    if item is None:
        return t.end(Reply("Việc này đã được đóng hoặc phiếu đã bị xóa."))
    assist.update_record(t.deps.storage, item.record_id, t.draft.member_id, {"followup_on": day.isoformat()},
                         t.deps.clock())
    return [Reply(f"Đã hẹn lại phiếu số {item.record_id} vào {vn_date(day)}. Đến ngày đó tôi nhắc bạn."),
            *t.go("list")]


VIEC = flows.Flow(
    name="viec", draft=TodoDraft,
    steps={
        "list": Step(ask_list, {"pick": pick}, view=True),
        "what": Step(ask_what, {"res": result, "later": lambda t, _a: t.go("day"),
                                "back": lambda t, _a: t.go("list")}, view=True),
        "note": Step(ask_note, {"skip": lambda t, _a: _close(t, None)}, type_note, free_text=True),
        "day": Step(ask_day, {"d": set_day}, set_day, expects=f"Bạn gõ ngày hẹn, ví dụ: {AHEAD_EXAMPLES}."),
    },
    cancelled=lambda _d: "Đã dừng. Gõ /viec khi cần xem việc cần quay lại.",
)


async def todo(incoming: Incoming, deps: Deps, session: Session) -> list[Reply]:
    """/viec: my open follow-ups, earliest due first."""
    member, refusal = team_member(deps, incoming)
    if refusal:
        return refusal
    return begin(VIEC, "list", TodoDraft(member.id), incoming, deps, session)


COMMANDS = {"/viec": todo}
FLOWS = {"viec": VIEC}
HELP = [("/viec", "việc cần quay lại (phiếu chưa xong, hẹn lại) theo ngày hẹn; đánh dấu đã xong", "member")]
