"""The household assistance log: /ghi (guided or one line), and the log button under FAQ answers.

The /ghi flow: village -> head's name (search, "Có phải hộ này không?") -> [3 phone digits for a new
household] -> services (toggles) -> outcome [-> reason | date] -> note -> summary -> "Lưu".
The draft lives in the session (SQLite), so it survives restarts. "Lưu" is a plain payload carrying
the draft id, which is also records.request_id: pressing it twice saves once.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from typing import Any

from rapidfuzz import fuzz

from bot import assist, teams
from bot.access import IN_GROUP, NOT_IN_TEAM, NOT_MEMBER, Member, member_for
from bot.core import Choice, Deps, Incoming, Reply, Session
from bot.safety import MASK
from knowledge.normalize import fold

from .flowkit import arg_text, dropping_draft, flow_value, nudge

GHI_USAGE = ("Ghi nhanh trong một dòng: /ghi <tên chủ hộ>; <thôn>; <việc đã hỗ trợ>\n"
             "Ví dụ: /ghi Nguyễn Văn An; Xuân Thượng; vneid2, nganhang\n"
             "Hoặc chỉ gõ /ghi để tôi hỏi từng bước.")
REASONS = ["Thiếu giấy tờ", "Điện thoại không hỗ trợ", "Mạng hoặc hệ thống lỗi", "Người dân chưa sẵn sàng"]
SKIP_WORDS = {"0", "khong", "ko", "k", "bo qua", "boqua", "khong co", "-", "x"}
MASK_WARNING = ("Tôi đã ẩn số giấy tờ, mã hoặc số điện thoại trong phần bạn gõ và không lưu các số đó. "
                "Không cần ghi những số này vào phiếu.")
MAX_KEEP_SAVED = 20


def team_member(deps: Deps, incoming: Incoming) -> tuple[Member | None, list[Reply] | None]:
    """The logging member, or the refusal to send."""
    if incoming.is_group:
        return None, [Reply(IN_GROUP)]
    member = member_for(deps, incoming.user_key)
    if member is None:
        return None, [Reply(NOT_MEMBER)]
    if not member.id or member.team_id is None:
        return None, [Reply(NOT_IN_TEAM)]
    return member, None


def clean_name(text: str) -> tuple[str, bool]:
    name, masked = assist.clean_text(text.replace(MASK, " "), assist.MAX_NAME)
    masked = masked or MASK in text
    name = " ".join(name.replace(MASK, " ").strip(" .,;:-").split())
    return name, masked


def _date_vn(iso_date: str) -> str:
    return dt.date.fromisoformat(iso_date).strftime("%d/%m/%Y")


def parse_date(text: str, today: dt.date) -> tuple[str | None, str]:
    """'25/11' or '25/11/2026' -> ISO date not in the past; else (None, why)."""
    m = re.fullmatch(r"\s*(\d{1,2})\s*[/.\-]\s*(\d{1,2})(?:\s*[/.\-]\s*(\d{2}|\d{4}))?\s*", text)
    if not m:
        return None, "Bạn gõ ngày theo dạng ngày/tháng, ví dụ 25/11 hoặc 25/11/2026."
    day, month = int(m.group(1)), int(m.group(2))
    year = int(m.group(3)) if m.group(3) else today.year
    if year < 100:
        year += 2000
    try:
        date = dt.date(year, month, day)
    except ValueError:
        return None, f"Ngày {text.strip()} không có trên lịch. Bạn gõ lại giúp tôi, ví dụ 25/11."
    if date < today and not m.group(3):
        try:
            date = date.replace(year=year + 1)  # "05/01" typed in November means next January
        except ValueError:
            return None, f"Ngày {text.strip()} không có trên lịch. Bạn gõ lại giúp tôi."
    if date < today:
        return None, f"Ngày {date.strftime('%d/%m/%Y')} đã qua. Bạn chọn một ngày từ hôm nay trở đi nhé."
    if date > today + dt.timedelta(days=366):
        return None, "Ngày hẹn xa quá một năm. Bạn gõ lại ngày giúp tôi."
    return date.isoformat(), ""


def _match_village(deps: Deps, team_id: int, text: str) -> teams.Village | None:
    wanted = assist.name_key(text)
    if not wanted:
        return None
    options = teams.villages(deps.storage, team_id)
    for village in options:
        if assist.name_key(village.name) == wanted:
            return village
    scored = [(fuzz.WRatio(wanted, assist.name_key(v.name)), v) for v in options]
    scored = [s for s in scored if s[0] >= 85]
    return max(scored, key=lambda s: s[0])[1] if scored else None


def parse_services(text: str) -> tuple[list[str], list[str]]:
    """'vneid2, nganhang' -> (codes, words not understood)."""
    cat = assist.catalogue()
    codes: list[str] = []
    unknown: list[str] = []
    for word in re.split(r"[,;+/]|\s+và\s+|\s+", text):
        word = word.strip()
        if not word:
            continue
        service = cat.by_alias(word)
        if service is None:
            unknown.append(word)
        elif service.code not in codes:
            codes.append(service.code)
    return codes, unknown


# --- prompts (one per step; each re-asks its question with fresh choices) ---------------------------

def prompt(deps: Deps, session: Session) -> list[Reply]:
    flow = session.flow
    data, step = flow["data"], flow["step"]
    c = session.flow_choice
    if step == "village":
        options = teams.villages(deps.storage, data["team_id"])
        return [Reply("Hộ dân ở thôn nào?", tuple(c(v.name, f"v{v.id}") for v in options))]
    if step == "name":
        return [Reply(f"Thôn {data['village']}. Bạn gõ tên chủ hộ (có dấu hay không dấu đều được) để tôi tìm.",
                      (c("↩️ Đổi thôn", "back"),))]
    if step == "match":
        found = [assist.Household(h[0], data["village_id"], h[1], h[2]) for h in data.get("matches", [])]
        choices = [c(h.label, f"h{h.id}") for h in found]
        choices.append(c(f"➕ Không, đây là hộ mới: {data['name']}", "new"))
        choices.append(c("↩️ Gõ lại tên", "retype"))
        return [Reply(f"Có phải hộ này không? Tôi thấy ở thôn {data['village']} có:", tuple(choices))]
    if step == "phone":
        # No buttons here, so a typed "123" reaches the flow instead of picking a numbered choice.
        return [Reply(f"Hộ mới: {data['name']}, thôn {data['village']}.\n"
                      "Gõ 3 số cuối điện thoại của chủ hộ để dễ phân biệt (chỉ 3 số), hoặc gõ 0 nếu không có.")]
    if step == "services":
        cat = assist.catalogue()
        chosen = data.get("services", [])
        choices = [c(("✅ " if s.code in chosen else "") + s.label, f"s{s.code}") for s in cat.services]
        choices.append(c("✔️ Xong", "done"))
        picked = ", ".join(cat.get(code).label for code in chosen if cat.get(code)) or "chưa chọn"
        return [Reply(f"Bạn đã hỗ trợ hộ {data['name'] or '(đã xóa tên)'} việc gì? Chọn một hay nhiều việc, "
                      f"rồi bấm Xong.\nĐã chọn: {picked}", tuple(choices))]
    if step == "outcome":
        return [Reply("Kết quả thế nào?", tuple(c(label, code) for code, label in assist.OUTCOMES.items()))]
    if step == "reason":
        return [Reply("Vì sao chưa xong? Chọn hoặc gõ ngắn gọn.", tuple(c(r, f"r{i}") for i, r in enumerate(REASONS)))]
    if step == "date":
        today = deps.clock().date()
        options = [("Ngày mai", 1), ("3 ngày nữa", 3), ("Tuần sau", 7)]
        return [Reply("Hẹn lại ngày nào? Chọn, hoặc gõ ngày/tháng, ví dụ 25/11.",
                      tuple(c(f"{label} ({(today + dt.timedelta(days=n)).strftime('%d/%m')})",
                              f"d{(today + dt.timedelta(days=n)).isoformat()}") for label, n in options))]
    if step == "note":
        current = f"\nGhi chú hiện tại: {data['note']}" if data.get("note") else ""
        return [Reply("Thêm ghi chú ngắn (không bắt buộc), hoặc bấm Bỏ qua. "
                      f"Đừng ghi số căn cước, số điện thoại hay mật khẩu.{current}",
                      (c("Bỏ qua", "skip"),) + ((c("Xóa ghi chú", "clear"),) if current else ()))]
    if step == "confirm":
        return [Reply(_summary(deps, data), (
            Choice("✅ Lưu", f"ghi:save:{data['rid']}"),
            c("✏️ Sửa việc, kết quả, ghi chú", "edit"),
            c("❌ Hủy", "cancel"),
        ))]
    session.end_flow()
    return [Reply("Thao tác đang làm không còn dùng được. Bạn gõ /ghi để bắt đầu lại nhé.")]


def _summary(deps: Deps, data: dict[str, Any]) -> str:
    cat = assist.catalogue()
    services = "; ".join(cat.get(code).label for code in data["services"] if cat.get(code))
    if data.get("household_id"):
        who = data["name"] or "(hộ đã xóa tên)"
    else:
        who = f"{data['name']} (hộ mới" + (f", số ĐT đuôi {data['phone3']}" if data.get("phone3") else "") + ")"
    outcome = assist.OUTCOMES[data.get("outcome", "done")]
    if data.get("outcome") == "unfinished" and data.get("reason"):
        outcome += f" ({data['reason']})"
    if data.get("outcome") == "followup" and data.get("followup_on"):
        outcome += f" ngày {_date_vn(data['followup_on'])}"
    head = f"Sửa phiếu số {data['edit']}" if data.get("edit") else "Bạn kiểm tra lại trước khi lưu"
    lines = [f"{head}:", f"- Hộ: {who}, thôn {data['village']}", f"- Đã hỗ trợ: {services}",
             f"- Kết quả: {outcome}"]
    if data.get("note"):
        lines.append(f"- Ghi chú: {data['note']}")
    lines.append(f"- Ngày: {_date_vn(data['helped_on'])}")
    lines.append("Đúng rồi thì bấm Lưu.")
    return "\n".join(lines)


# --- moving between steps --------------------------------------------------------------------------

def _go(deps: Deps, session: Session, step: str, before: list[Reply] | None = None) -> list[Reply]:
    session.advance(step)
    return (before or []) + prompt(deps, session)


def _after_household(deps: Deps, session: Session, before: list[Reply] | None = None) -> list[Reply]:
    data = session.flow["data"]
    if data.get("quick") and data.get("services"):
        return _go(deps, session, "confirm", before)
    return _go(deps, session, "services", before)


def _search(deps: Deps, session: Session, name: str, before: list[Reply] | None = None) -> list[Reply]:
    data = session.flow["data"]
    data["name"] = name
    found = assist.find_households(deps.storage.db, data["team_id"], name, data["village_id"])
    data["matches"] = [[h.id, h.head_name, h.phone_last3] for h in found]
    if found:
        return _go(deps, session, "match", before)
    data["household_id"] = None
    if data.get("quick"):
        return _after_household(deps, session, before)
    return _go(deps, session, "phone", before)


def _after_village(deps: Deps, session: Session, before: list[Reply] | None = None) -> list[Reply]:
    data = session.flow["data"]
    if data.get("name"):
        return _search(deps, session, data["name"], before)
    return _go(deps, session, "name", before)


def _set_village(data: dict[str, Any], village: teams.Village) -> None:
    data["village_id"], data["village"] = village.id, village.name


def new_draft(member: Member, today: dt.date, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"rid": secrets.token_hex(8), "team_id": member.team_id, "member_id": member.id,
                            "village_id": None, "village": "", "name": "", "household_id": None, "phone3": None,
                            "services": [], "outcome": "done", "reason": None, "followup_on": None, "note": None,
                            "helped_on": today.isoformat(), "quick": False, "edit": None}
    data.update(extra)
    return data


def _start(deps: Deps, session: Session, member: Member, before: list[Reply] | None = None,
           **extra: Any) -> list[Reply]:
    data = new_draft(member, deps.clock().date(), **extra)
    options = teams.villages(deps.storage, member.team_id)
    if not options:
        return [Reply("Tổ của bạn chưa có thôn nào trong danh sách. Hãy nhờ quản trị viên thêm thôn.")]
    before = dropping_draft(session) + (before or [])
    session.start_flow("ghi", "village", data)
    if data.get("village_id"):
        return _after_village(deps, session, before)
    if len(options) == 1:
        _set_village(data, options[0])
        return _after_village(deps, session, before)
    return (before or []) + prompt(deps, session)


# --- commands ------------------------------------------------------------------------------------

async def log_command(incoming: Incoming, deps: Deps, session: Session) -> list[Reply]:
    """/ghi, or the one-line form /ghi <tên>; <thôn>; <việc>."""
    member, refusal = team_member(deps, incoming)
    if refusal:
        return refusal
    args = arg_text(incoming.text)
    if not args:
        flow = session.flow
        if flow and flow["name"] == "ghi" and not flow["data"].get("edit"):
            return [Reply("Bạn đang ghi dở một phiếu; tôi hỏi tiếp nhé (gõ /huy để bỏ phiếu đó)."),
                    *prompt(deps, session)]
        return _start(deps, session, member)
    return _quick(deps, session, member, args)


def _quick(deps: Deps, session: Session, member: Member, args: str) -> list[Reply]:
    parts = [p.strip() for p in args.split(";")]
    if len(parts) != 3 or not parts[0]:
        return [Reply(GHI_USAGE)]
    before: list[Reply] = []
    name, masked = clean_name(parts[0])
    if masked:
        before.append(Reply(MASK_WARNING))
    if not name:
        return before + [Reply("Tôi chưa thấy tên chủ hộ. " + GHI_USAGE)]
    codes, unknown = parse_services(parts[2])
    if unknown:
        aliases = ", ".join(s.aliases[0] for s in assist.catalogue().services if s.aliases)
        before.append(Reply(f"Tôi chưa hiểu: {', '.join(unknown)[:100]}. Các từ viết tắt dùng được: {aliases}. "
                            "Bạn chọn thêm ở bước sau nhé."))
    village = _match_village(deps, member.team_id, parts[1])
    extra: dict[str, Any] = {"name": name, "services": codes, "quick": True}
    if village is None:
        before.append(Reply(f"Tôi không thấy thôn \"{parts[1][:40]}\" trong danh sách của tổ."))
    else:
        extra.update(village_id=village.id, village=village.name)
    return _start(deps, session, member, before, **extra)


async def log_from_answer(incoming: Incoming, deps: Deps, session: Session) -> list[Reply]:
    """'Ghi nhận hỗ trợ hộ dân' under an FAQ answer: the flow with the topic's service chosen."""
    member, refusal = team_member(deps, incoming)
    if refusal:
        return refusal
    code = (incoming.payload or "").partition(":")[2]
    services = [code] if assist.catalogue().get(code) else []
    return _start(deps, session, member, services=services)


def answer_choices(entry: Any, incoming: Incoming, deps: Deps) -> list[Choice]:
    """Members of a team can log a household straight from an answer (in a private chat)."""
    if incoming.is_group:
        return []
    member = member_for(deps, incoming.user_key)
    if member is None or not member.id or member.team_id is None:
        return []
    service = assist.catalogue().for_topic(getattr(entry, "topic", ""))
    return [Choice("Ghi nhận hỗ trợ hộ dân", f"log:{service.code if service else ''}")]


# --- the /ghi flow -------------------------------------------------------------------------------

async def log_flow(incoming: Incoming, deps: Deps, session: Session) -> list[Reply]:
    flow = session.flow
    data, step = flow["data"], flow["step"]
    value = flow_value(incoming)
    text = incoming.text.strip() if incoming.payload is None and incoming.kind == "text" else ""
    again = nudge(incoming)

    if value == "cancel":
        session.end_flow()
        if data.get("edit"):
            return [Reply(f"Đã hủy, phiếu số {data['edit']} giữ nguyên.")]
        return [Reply("Đã hủy, phiếu này không được lưu. Gõ /ghi khi cần ghi phiếu mới.")]

    if step == "village":
        village = None
        if value and value.startswith("v") and value[1:].isdigit():
            village = next((v for v in teams.villages(deps.storage, data["team_id"]) if v.id == int(value[1:])), None)
        elif text:
            village = _match_village(deps, data["team_id"], text)
        if village is not None:
            _set_village(data, village)
            return _after_village(deps, session)
        if text:
            again = [Reply(f"Tôi không thấy thôn \"{text[:40]}\" trong danh sách của tổ.")]

    elif step == "name":
        if value == "back":
            return _go(deps, session, "village")
        if text:
            name, masked = clean_name(text)
            before = [Reply(MASK_WARNING)] if masked else []
            if name and any(ch.isalpha() for ch in name):
                return _search(deps, session, name, before)
            again = before + [Reply("Tên chủ hộ cần có chữ. Bạn gõ lại giúp tôi, ví dụ: Nguyễn Văn An.")]

    elif step == "match":
        if value == "new":
            data["household_id"] = None
            return _after_household(deps, session) if data.get("quick") else _go(deps, session, "phone")
        if value == "retype":
            data["name"] = ""
            return _go(deps, session, "name")
        if value and value.startswith("h") and value[1:].isdigit():
            hit = next((h for h in data.get("matches", []) if h[0] == int(value[1:])), None)
            if hit is not None:
                data["household_id"], data["name"], data["phone3"] = hit[0], hit[1], hit[2]
                return _after_household(deps, session)
        if text:  # a new name typed instead of pressing: search again
            name, masked = clean_name(text)
            if name and any(ch.isalpha() for ch in name):
                return _search(deps, session, name, [Reply(MASK_WARNING)] if masked else None)

    elif step == "phone":
        if text:
            folded = " ".join(fold(text).split())
            if MASK in text:
                again = [Reply("Chỉ cần 3 số cuối thôi ạ; tôi không lưu số điện thoại đầy đủ.")]
            elif re.fullmatch(r"\d{3}", text):
                data["phone3"] = text
                return _after_household(deps, session)
            elif folded in SKIP_WORDS:
                data["phone3"] = None
                return _after_household(deps, session)
            else:
                again = [Reply("Bạn gõ đúng 3 chữ số (ví dụ 678), hoặc gõ 0 nếu không có.")]

    elif step == "services":
        if value == "done":
            if data["services"]:
                return _go(deps, session, "outcome")
            again = [Reply("Bạn chọn ít nhất một việc đã hỗ trợ, rồi bấm Xong.")]
        elif value and value.startswith("s") and assist.catalogue().get(value[1:]):
            code = value[1:]
            if code in data["services"]:
                data["services"].remove(code)
            else:
                data["services"].append(code)
            return _go(deps, session, "services")
        elif text:
            codes, unknown = parse_services(text)
            if codes and not unknown:  # only a list of short words; a question is asked again
                data["services"] += [c for c in codes if c not in data["services"]]
                return _go(deps, session, "services")

    elif step == "outcome":
        if value in assist.OUTCOMES:
            data["outcome"] = value
            data["reason"] = data["followup_on"] = None
            if value == "unfinished":
                return _go(deps, session, "reason")
            if value == "followup":
                return _go(deps, session, "date")
            return _go(deps, session, "note")

    elif step == "reason":
        if value and value.startswith("r") and value[1:].isdigit() and int(value[1:]) < len(REASONS):
            data["reason"] = REASONS[int(value[1:])]
            return _go(deps, session, "note")
        if text:
            reason, masked = assist.clean_text(text, 100)
            data["reason"] = reason
            return _go(deps, session, "note", [Reply(MASK_WARNING)] if masked or MASK in text else None)

    elif step == "date":
        today = deps.clock().date()
        if value and value.startswith("d"):
            try:
                chosen = dt.date.fromisoformat(value[1:])
            except ValueError:
                chosen = None
            if chosen is not None and chosen >= today:
                data["followup_on"] = chosen.isoformat()
                return _go(deps, session, "note")
        elif text:
            date, why = parse_date(text, today)
            if date:
                data["followup_on"] = date
                return _go(deps, session, "note")
            again = [Reply(why)]

    elif step == "note":
        if value == "skip":
            return _go(deps, session, "confirm")
        if value == "clear":
            data["note"] = None
            return _go(deps, session, "confirm")
        if text:
            note, masked = assist.clean_text(text, assist.MAX_NOTE)
            data["note"] = note or None
            return _go(deps, session, "confirm", [Reply(MASK_WARNING)] if masked or MASK in text else None)

    elif step == "confirm":
        if value == "edit":
            data["quick"] = False
            return _go(deps, session, "services")
        if text:
            again = [Reply("Bạn bấm Lưu để ghi phiếu, Sửa để đổi, hoặc Hủy.")]

    return again + prompt(deps, session)


async def save(incoming: Incoming, deps: Deps, session: Session) -> list[Reply]:
    """The "Lưu" button: payload 'ghi:save:<draft id>'. Saves once, however often it is pressed."""
    rid = (incoming.payload or "").split(":")[-1]
    saved = session.state.setdefault("saved", {})
    if rid in saved:
        return [Reply(f"Phiếu này đã được lưu rồi. Số phiếu: {saved[rid]}.")]
    flow = session.flow
    if not flow or flow["name"] != "ghi" or flow["data"].get("rid") != rid:
        row = deps.storage.db.execute("SELECT id FROM records WHERE request_id = ?", [rid]).fetchone()
        if row is not None:
            return [Reply(f"Phiếu này đã được lưu rồi. Số phiếu: {row[0]}.")]
        return [Reply("Nút này đã cũ. Gõ /ghi để ghi phiếu mới, hoặc /cuatoi để xem các phiếu đã lưu.")]
    data = flow["data"]
    if flow["step"] != "confirm":
        return [Reply("Phiếu chưa đủ thông tin để lưu; tôi hỏi tiếp nhé."), *prompt(deps, session)]
    member, refusal = team_member(deps, incoming)
    if refusal or member.team_id != data["team_id"] or member.id != data["member_id"]:
        session.end_flow()
        return refusal or [Reply(NOT_MEMBER)]
    now = deps.clock()
    if data.get("edit"):
        changes = {k: data[k] for k in ("services", "outcome", "reason", "followup_on", "note")}
        ok = assist.update_record(deps.storage, data["edit"], member.id, changes, now)
        record_id = data["edit"]
        text = f"Đã sửa phiếu số {record_id}." if ok else f"Phiếu số {record_id} đã bị xóa nên không sửa được."
    else:
        draft = assist.Draft(
            request_id=rid, team_id=data["team_id"], member_id=member.id, village_id=data["village_id"],
            services=data["services"], household_id=data.get("household_id"), head_name=data["name"],
            phone_last3=data.get("phone3"), outcome=data["outcome"], reason=data.get("reason"),
            followup_on=data.get("followup_on"), note=data.get("note"), helped_on=data["helped_on"])
        result = assist.save_record(deps.storage, draft, now)
        record_id = result.record_id
        text = (f"Đã lưu. Số phiếu: {record_id}. Cảm ơn bạn! Gõ /ghi để ghi hộ tiếp theo."
                if result.created else f"Phiếu này đã được lưu rồi. Số phiếu: {record_id}.")
    session.end_flow()
    saved[rid] = record_id
    for old in list(saved)[:-MAX_KEEP_SAVED]:
        del saved[old]
    return [Reply(text)]


COMMANDS = {"/ghi": log_command}
PAYLOADS = {"ghi": save, "log": log_from_answer}
FLOWS = {"ghi": log_flow}
HELP = [("/ghi", "ghi nhận một hộ dân đã hỗ trợ (hoặc /ghi Tên chủ hộ; Thôn; vneid2, nganhang)")]
