"""The household assistance log: /ghi (guided or one line), /sua's steps, and the log button under answers.

The /ghi flow, declared as a table of steps (`GHI`) over a typed draft (`GhiDraft`):
village -> head's name (search, "Có phải hộ này không?") -> [3 phone digits for a new household] ->
services (toggles) -> outcome [-> reason | follow-up date] -> note -> summary [-> day helped] -> "Lưu".
The engine (bot/flows.py) owns stale buttons, re-prompts, cancel and timeouts. "Lưu" is a plain payload
carrying the draft id, which is also records.request_id: pressing it twice saves once.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass, field, replace
from typing import Any

from rapidfuzz import fuzz

from bot import assist, flows, notify, review, teams
from bot.access import IN_GROUP, NOT_IN_TEAM, NOT_MEMBER, Actor, Member, member_for
from bot.core import SAVE_WORDS, Choice, Deps, Incoming, Reply, Session
from bot.flows import Step, Turn, said_words
from bot.followups import DEFAULT_DAYS
from bot.safety import MASK, without_mask
from bot.when import AHEAD_EXAMPLES, DAY_EXAMPLES, parse_day, parse_due, says_a_day, vn_date
from knowledge.normalize import fold

from . import words
from .flowkit import arg_text, begin

GHI_USAGE = ("Ghi nhanh trong một dòng: ghi <tên chủ hộ>; <thôn>; <việc đã hỗ trợ>[; <ngày>]\n"
             "Ví dụ: /ghi Nguyễn Văn An; Xuân Thượng; kích hoạt VNeID, ngân hàng; hôm qua\n"
             "Hoặc chỉ gõ /ghi để tôi hỏi từng bước.")
REASONS = ["Thiếu giấy tờ", "Điện thoại không hỗ trợ", "Mạng hoặc hệ thống lỗi", "Người dân chưa sẵn sàng"]
SKIP_WORDS = {"0", "khong", "ko", "k", "kg", "bo qua", "boqua", "khong co", "ko co", "k co", "kco", "khongco",
              "khong biet", "ko biet", "kb", "chua co", "khong nho", "-", "x"}
NOT_LEADER_EDIT = ("Bạn chỉ sửa hoặc hủy được phiếu của chính mình, hoặc phiếu của thành viên trong tổ mình "
                   "ghi trong {days} ngày gần đây. Gõ /duyet để xem các phiếu mới của tổ.")
MASK_WARNING = ("Tôi đã ẩn số giấy tờ, mã hoặc số điện thoại trong phần bạn gõ và không lưu các số đó. "
                "Không cần ghi những số này vào phiếu.")


@dataclass
class GhiDraft:
    """One household visit being logged (or an existing record being edited, when `edit` is set)."""

    rid: str = ""
    team_id: int = 0
    member_id: int = 0
    village_id: int | None = None
    village: str = ""
    name: str = ""
    household_id: int | None = None
    phone3: str | None = None
    services: list[str] = field(default_factory=list)
    outcome: str = "done"
    reason: str | None = None
    followup_on: str | None = None
    note: str | None = None
    helped_on: str = ""
    quick: bool = False
    edit: int | None = None
    corrector: str | None = None  # who corrects someone else's record (a leader's or an admin's user key)
    why: str | None = None  # the leader's reason, kept in the audit row and told to the member
    owner: str = ""  # the name of the member whose record a leader corrects
    due_from_summary: bool = False  # the due date is being changed from the summary: go back there
    matches: list[list[Any]] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # words of a one-line /ghi not understood
    next_line: str = ""  # a new one-line /ghi typed while this record's summary was unsaved: asked about first


def team_member(deps: Deps, incoming: Incoming) -> Member | list[Reply]:
    """The logging member, or the refusal to send."""
    if incoming.is_group:
        return [Reply(IN_GROUP)]
    member = member_for(deps, incoming.user_key)
    if member is None:
        return [Reply(NOT_MEMBER)]
    if not isinstance(member, Member) or member.team_id is None:
        return [Reply(NOT_IN_TEAM)]
    return member


# What people write in front of a number they type after a name ("Nguyễn Thị Tư cccd 034…", "sđt: 0912…"),
# folded; left out with the hidden number, so the name is not saved as "Nguyễn Thị Tư Cccd".
_NUMBER_LABELS = sorted((tuple(p.split()) for p in (
    "so can cuoc cong dan", "can cuoc cong dan", "so can cuoc", "can cuoc", "so cccd", "cccd", "so cmnd", "cmnd",
    "so dinh danh", "ma dinh danh", "so dien thoai", "dien thoai", "so dt", "sdt", "dt", "ma otp", "otp",
    "mat khau", "mk", "passcode", "ma pin", "ma xac thuc", "ma kich hoat", "so the", "so tai khoan", "stk",
    "chung minh thu", "so chung minh thu", "so cmt", "cmt")), key=len, reverse=True)
_HIDDEN = "\x00"


def _drop_number_labels(text: str) -> str:
    """'Nguyễn Thị Tư cccd: [đã ẩn]' -> 'Nguyễn Thị Tư [đã ẩn]': the words naming a hidden number go with it."""
    words = text.replace(MASK, f" {_HIDDEN} ").split()
    out: list[str] = []
    for word in words:
        if word == _HIDDEN:
            folded = [fold(w).strip(" .,;:-") for w in out]
            while folded and folded[-1] in ("", "la"):  # "cccd là …", "sđt: …"
                folded.pop()
            cut = next((len(label) for label in _NUMBER_LABELS if tuple(folded[-len(label):]) == label), 0)
            if cut:
                out = out[:len(folded) - cut]
        out.append(word)
    return " ".join(out).replace(_HIDDEN, MASK)


def clean_name(text: str) -> tuple[str, bool]:
    """A household head's name: redacted, one line, proper case with the diacritics as typed."""
    masked = MASK in text  # the core hid it already
    name, hidden = assist.clean_text(_drop_number_labels(text).replace(MASK, " "), assist.MAX_NAME)
    name = " ".join(_drop_number_labels(name).replace(MASK, " ").strip(" .,;:-").split())
    masked = masked or hidden
    return assist.proper_name(name), masked


def match_village(deps: Deps, team_id: int, text: str) -> teams.Village | None:
    wanted = assist.village_key(text)
    if not wanted:
        return None
    options = teams.villages(deps.storage, team_id)
    for village in options:
        if assist.village_key(village.name) == wanted:
            return village
    scored = [(fuzz.WRatio(wanted, assist.village_key(v.name)), v) for v in options]
    scored = [s for s in scored if s[0] >= 85]
    return max(scored, key=lambda s: s[0])[1] if scored else None


def parse_services(text: str) -> tuple[list[str], list[str]]:
    """'kích hoạt vneid, nganhang' -> (codes, words not understood), phrases matched first."""
    return assist.match_services(text)


def _labels(codes: list[str]) -> str:
    cat = assist.catalogue()
    return "; ".join(s.label for code in codes if (s := cat.get(code)))


# --- questions (one per step; each asks again with fresh choices) ---------------------------------

def ask_village(t: Turn[GhiDraft]) -> list[Reply]:
    options = teams.villages(t.deps.storage, t.draft.team_id)
    return [Reply("Hộ dân ở thôn nào?", tuple(t.choice(v.name, f"v:{v.id}") for v in options))]


def ask_name(t: Turn[GhiDraft]) -> list[Reply]:
    place = assist.village_label(t.draft.village)
    return [Reply(f"{place[:1].upper()}{place[1:]}. Bạn gõ tên chủ hộ (có dấu hay không dấu đều được) "
                  "để tôi tìm.", (t.choice("↩️ Đổi thôn", "back"),))]


def ask_match(t: Turn[GhiDraft]) -> list[Reply]:
    d = t.draft
    found = [assist.Household(h[0], d.village_id or 0, h[1], h[2]) for h in d.matches]
    choices = [t.choice(h.label, f"h:{h.id}") for h in found]
    choices += [t.choice(f"➕ Không, đây là hộ mới: {d.name}", "new"), t.choice("↩️ Gõ lại tên", "retype")]
    return [Reply(f"Có phải hộ này không? Tôi thấy ở {assist.village_label(d.village)} có:", tuple(choices))]


def ask_phone(t: Turn[GhiDraft]) -> list[Reply]:
    # No buttons here, so a typed "123" reaches the flow instead of picking a numbered choice.
    return [Reply(f"Hộ mới: {t.draft.name}, {assist.village_label(t.draft.village)}.\n"
                  "Gõ 3 số cuối điện thoại của chủ hộ để dễ phân biệt (chỉ 3 số), hoặc gõ 0 nếu không có.")]


def ask_services(t: Turn[GhiDraft]) -> list[Reply]:
    cat, chosen = assist.catalogue(), t.draft.services
    choices = [t.choice(("✅ " if s.code in chosen else "") + s.label, f"s:{s.code}") for s in cat.services]
    choices.append(t.choice("✔️ Xong", "done"))
    picked = _labels(chosen).replace("; ", ", ") or "chưa chọn"
    return [Reply(f"Bạn đã hỗ trợ hộ {t.draft.name or '(đã xóa tên)'} việc gì? Chọn một hay nhiều việc "
                  f"(gõ được nhiều số một lúc, ví dụ 3 7), rồi bấm Xong.\nĐã chọn: {picked}", tuple(choices))]


def ask_outcome(t: Turn[GhiDraft]) -> list[Reply]:
    return [Reply("Kết quả thế nào?", tuple(t.choice(label, f"o:{code}") for code, label in assist.OUTCOMES.items()))]


def ask_reason(t: Turn[GhiDraft]) -> list[Reply]:
    return [Reply("Vì sao chưa xong? Chọn hoặc gõ ngắn gọn.",
                  tuple(t.choice(r, f"r:{i}") for i, r in enumerate(REASONS)))]


def ask_followup(t: Turn[GhiDraft]) -> list[Reply]:
    today = t.deps.clock().date()
    days = [(today + dt.timedelta(days=n), label) for label, n in (("Ngày mai", 1), ("3 ngày nữa", 3), ("Tuần sau", 7))]
    current = f" Hiện đang hẹn {vn_date(t.draft.followup_on)}." if t.draft.followup_on else ""
    return [Reply(f"Hẹn lại ngày nào?{current} Chọn, hoặc gõ: {AHEAD_EXAMPLES}. "
                  f"Đến ngày đó, 8 giờ sáng tôi nhắc bạn (không chọn thì hẹn {DEFAULT_DAYS} ngày nữa).",
                  tuple(t.choice(f"{label} ({day.strftime('%d/%m')})", f"d:{day.isoformat()}") for day, label in days))]


def ask_note(t: Turn[GhiDraft]) -> list[Reply]:
    current = f"\nGhi chú hiện tại: {t.draft.note}" if t.draft.note else ""
    return [Reply("Thêm ghi chú ngắn (không bắt buộc), hoặc bấm Bỏ qua. "
                  f"Đừng ghi số căn cước, số điện thoại hay mật khẩu.{current}",
                  (t.choice("Bỏ qua", "skip"),) + ((t.choice("Xóa ghi chú", "clear"),) if current else ()))]


def ask_day(t: Turn[GhiDraft]) -> list[Reply]:
    today = t.deps.clock().date()
    days = [(today - dt.timedelta(days=n), label) for n, label in ((0, "Hôm nay"), (1, "Hôm qua"), (2, "Hôm kia"))]
    return [Reply(f"Bạn hỗ trợ hộ này ngày nào? Chọn, hoặc gõ: {DAY_EXAMPLES}.",
                  tuple(t.choice(f"{label} ({day.strftime('%d/%m')})", f"k:{day.isoformat()}") for day, label in days))]


def ask_confirm(t: Turn[GhiDraft]) -> list[Reply]:
    household = () if t.draft.edit else (t.choice("🏠 Đổi hộ hoặc thôn", "who"),)
    return [Reply(summary(t.draft), (
        Choice("✅ Lưu", f"ghi:save:{t.draft.rid}"),
        t.choice("✏️ Sửa việc, kết quả, ghi chú", "edit"),
        t.choice("📅 Đổi ngày", "day"),
        *((t.choice("⏰ Đổi ngày hẹn quay lại", "due"),) if t.draft.outcome in ("unfinished", "followup") else ()),
        *household,
        t.choice("❌ Hủy", flows.CANCEL),
    ))]


def summary(d: GhiDraft) -> str:
    """Every part of the record as understood, so the member confirms or fixes it."""
    if d.household_id:
        who = d.name or "(hộ đã xóa tên)"
    else:
        who = f"{d.name} (hộ mới" + (f", số ĐT đuôi {d.phone3}" if d.phone3 else "") + ")"
    outcome = assist.OUTCOMES[d.outcome]
    if d.outcome == "unfinished" and d.reason:
        outcome += f" ({d.reason})"
    if d.outcome == "followup" and d.followup_on:
        outcome += f" ngày {vn_date(d.followup_on)}"
    elif d.outcome == "unfinished" and d.followup_on:
        outcome += f", hẹn quay lại ngày {vn_date(d.followup_on)}"
    head = f"Sửa phiếu số {d.edit}" if d.edit else "Bạn kiểm tra lại trước khi lưu"
    if d.corrector is not None:
        head += f" của {d.owner or 'thành viên'} (lý do: {d.why})"
    lines = [f"{head}:", f"- Hộ: {who}, {assist.village_label(d.village)}", f"- Đã hỗ trợ: {_labels(d.services)}",
             f"- Kết quả: {outcome}"]
    if d.note:
        lines.append(f"- Ghi chú: {d.note}")
    lines.append(f"- Ngày hỗ trợ: {vn_date(d.helped_on)}")
    if d.unknown:
        lines.append(f"- Tôi chưa hiểu: \"{', '.join(d.unknown)[:100]}\" (bấm Sửa để chọn thêm việc)")
    lines.append("Đúng rồi thì bấm Lưu.")
    return "\n".join(lines)


# --- moving between steps --------------------------------------------------------------------------

def after_household(t: Turn[GhiDraft], *before: Reply) -> list[Reply]:
    return t.go("confirm" if t.draft.quick and t.draft.services else "services", *before)


def search(t: Turn[GhiDraft], name: str, *before: Reply) -> list[Reply]:
    d = t.draft
    d.name = name
    found = assist.find_households(t.deps.storage.db, d.team_id, name, d.village_id)
    d.matches = [[h.id, h.head_name, h.phone_last3] for h in found]
    if found:
        return t.go("match", *before)
    d.household_id = None
    return after_household(t, *before) if d.quick else t.go("phone", *before)


def after_village(t: Turn[GhiDraft], *before: Reply) -> list[Reply]:
    return search(t, t.draft.name, *before) if t.draft.name else t.go("name", *before)


def set_village(d: GhiDraft, village: teams.Village) -> None:
    d.village_id, d.village = village.id, village.name


def _masked(masked: bool, incoming: Incoming) -> tuple[Reply, ...]:
    """Say numbers were hidden, unless the core's warning already said so for this message."""
    return (Reply(MASK_WARNING),) if masked and not incoming.warned else ()


# --- what each step does with a press or a typed answer ------------------------------------------

def pick_village(t: Turn[GhiDraft], arg: str) -> list[Reply] | None:
    village = next((v for v in teams.villages(t.deps.storage, t.draft.team_id) if str(v.id) == arg), None)
    if village is None:
        return None
    set_village(t.draft, village)
    return after_village(t)


def type_village(t: Turn[GhiDraft], text: str) -> list[Reply]:
    village = match_village(t.deps, t.draft.team_id, text)
    if village is None:
        return [Reply(f"Tôi không thấy thôn \"{text[:40]}\" trong danh sách của tổ. Bạn chọn thôn dưới đây "
                      "hoặc gõ đúng tên thôn, ví dụ: Xuân Hạ."), *t.ask()]
    set_village(t.draft, village)
    return after_village(t)


# Replies that are not a household head's name ("ok" became a household called "Ok").
NOT_NAMES = {"ok", "oke", "okie", "okay", "ok a", "u", "uh", "uhm", "um", "vang a", "da vang", "da vang a", "cam on",
             "cam on a", "thanks", "roi", "xong", "co", "khong", "ko", "test", "alo", "chao", "xin chao", "hi"}


def not_a_name(name: str) -> bool:
    """Fewer than two letters, or a word such as "ok", "vâng", "cảm ơn"."""
    return sum(ch.isalpha() for ch in name) < 2 or said_words(name) in NOT_NAMES


def type_name(t: Turn[GhiDraft], text: str) -> list[Reply] | None:
    if len(without_mask(text)) > assist.MAX_NAME:  # a pasted text, not a name: never cut
        return [Reply(f"Tên chủ hộ dài quá (tối đa {assist.MAX_NAME} ký tự). Bạn gõ họ tên chủ hộ thôi, "
                      "ví dụ: Nguyễn Văn An."), *t.ask()]
    name, masked = clean_name(text)
    if not name or not any(ch.isalpha() for ch in name):
        said = "Tên chủ hộ cần có chữ. Bạn gõ lại giúp tôi, ví dụ: Nguyễn Văn An."
        return [*_masked(masked, t.incoming), Reply(said), *t.ask()]
    if not_a_name(name):
        said = f"\"{name[:20]}\" chưa giống tên chủ hộ. Bạn gõ họ tên chủ hộ, ví dụ: Nguyễn Văn An."
        return [*_masked(masked, t.incoming), Reply(said), *t.ask()]
    return search(t, name, *_masked(masked, t.incoming))


def pick_household(t: Turn[GhiDraft], arg: str) -> list[Reply] | None:
    hit = next((h for h in t.draft.matches if str(h[0]) == arg), None)
    if hit is None:
        return None
    t.draft.household_id, t.draft.name, t.draft.phone3 = hit[0], hit[1], hit[2]
    return after_household(t)


NEW_WORDS = {"moi", "ho moi", "khong", "khong phai", "ko", "ko phai", "k", "k phai", "hong phai"}
YES_WORDS = {"co", "dung", "phai", "dung roi", "phai roi", "co phai", "dung ho nay", "u", "uh", "vang", "da"}


def type_match(t: Turn[GhiDraft], text: str) -> list[Reply] | None:
    """'mới'/'không' -> a new household; 'đúng'/'có' with one match -> that one; a name -> search again."""
    said = said_words(text)
    if said in NEW_WORDS:
        return new_household(t, "")
    if said in YES_WORDS and len(t.draft.matches) == 1:
        return pick_household(t, str(t.draft.matches[0][0]))
    return type_name(t, text)


def new_household(t: Turn[GhiDraft], _arg: str) -> list[Reply]:
    t.draft.household_id = None
    return after_household(t) if t.draft.quick else t.go("phone")


def retype(t: Turn[GhiDraft], _arg: str) -> list[Reply]:
    t.draft.name = ""
    return t.go("name")


def type_phone(t: Turn[GhiDraft], text: str) -> list[Reply] | None:
    if MASK in text:
        return [Reply("Chỉ cần 3 số cuối thôi ạ; tôi không lưu số điện thoại đầy đủ."), *t.ask()]
    if re.fullmatch(r"\d{3}", text):
        t.draft.phone3 = text
        return after_household(t)
    if said_words(text) in SKIP_WORDS or text.strip() in SKIP_WORDS:
        t.draft.phone3 = None
        return after_household(t)
    return None


def toggle_service(t: Turn[GhiDraft], code: str) -> list[Reply] | None:
    if assist.catalogue().get(code) is None:
        return None
    chosen = t.draft.services
    chosen.remove(code) if code in chosen else chosen.append(code)
    return t.go("services")


def services_done(t: Turn[GhiDraft], _arg: str) -> list[Reply]:
    if not t.draft.services:
        return [Reply("Bạn chọn ít nhất một việc đã hỗ trợ, rồi bấm Xong."), *t.ask()]
    t.draft.unknown = []
    return t.go("outcome")


def type_services(t: Turn[GhiDraft], text: str) -> list[Reply] | None:
    codes, unknown = parse_services(text)
    if not codes or unknown:  # only a list of service words; anything else is asked again
        return None
    t.draft.services += [c for c in codes if c not in t.draft.services]
    return t.go("services")


def pick_outcome(t: Turn[GhiDraft], code: str) -> list[Reply] | None:
    if code not in assist.OUTCOMES:
        return None
    d = t.draft
    due = t.deps.clock().date() + dt.timedelta(days=DEFAULT_DAYS) if code != "done" else None
    d.outcome, d.reason, d.followup_on = code, None, due.isoformat() if due else None
    return t.go({"unfinished": "reason", "followup": "followup"}.get(code, "note"))


OUTCOME_WORDS = {"xong": "done", "da xong": "done", "roi": "done", "xong roi": "done", "duoc": "done",
                 "chua": "unfinished", "chua xong": "unfinished", "chua duoc": "unfinished",
                 "hen": "followup", "hen lai": "followup", "quay lai": "followup", "can quay lai": "followup"}


def type_outcome(t: Turn[GhiDraft], text: str) -> list[Reply] | None:
    code = OUTCOME_WORDS.get(said_words(text))
    return pick_outcome(t, code) if code else None


def pick_reason(t: Turn[GhiDraft], arg: str) -> list[Reply] | None:
    if not arg.isdigit() or int(arg) >= len(REASONS):
        return None
    t.draft.reason = REASONS[int(arg)]
    return t.go("note")


def type_reason(t: Turn[GhiDraft], text: str) -> list[Reply]:
    reason, masked = assist.clean_text(text, 100)
    t.draft.reason = reason
    return t.go("note", *_masked(masked or MASK in text, t.incoming))


def pick_followup(t: Turn[GhiDraft], arg: str) -> list[Reply] | None:
    try:
        chosen = dt.date.fromisoformat(arg)
    except ValueError:
        return None
    if chosen < t.deps.clock().date():
        return None
    t.draft.followup_on = chosen.isoformat()
    return _after_due(t)


def type_followup(t: Turn[GhiDraft], text: str) -> list[Reply]:
    date, why = parse_due(text, t.deps.clock().date())
    if date is None:
        return [Reply(why), *t.ask()]
    t.draft.followup_on = date.isoformat()
    return _after_due(t)


def _after_due(t: Turn[GhiDraft]) -> list[Reply]:
    back, t.draft.due_from_summary = t.draft.due_from_summary, False
    return t.go("confirm" if back else "note")


def change_due(t: Turn[GhiDraft], _arg: str) -> list[Reply] | None:
    if t.draft.outcome not in ("unfinished", "followup"):
        return None
    t.draft.due_from_summary = True
    return t.go("followup")


def type_why(t: Turn[GhiDraft], text: str) -> list[Reply] | None:
    why = review.reason(text)
    if why is None:
        return None
    t.draft.why = why
    return t.go("services")


def ask_why(t: Turn[GhiDraft]) -> list[Reply]:
    return [Reply(f"Bạn đang sửa phiếu số {t.draft.edit} của {t.draft.owner or 'thành viên'}. Bạn gõ ngắn gọn lý do "
                  "sửa (thành viên sẽ được báo), ví dụ: ghi nhầm việc đã hỗ trợ.")]


def skip_note(t: Turn[GhiDraft], _arg: str) -> list[Reply]:
    return t.go("confirm")


def clear_note(t: Turn[GhiDraft], _arg: str) -> list[Reply]:
    t.draft.note = None
    return t.go("confirm")


def type_note(t: Turn[GhiDraft], text: str) -> list[Reply]:
    if said_words(text) in SKIP_WORDS:  # "không", "bỏ qua": no note
        return t.go("confirm")
    note, masked = assist.clean_text(text, assist.MAX_NOTE)
    t.draft.note = note or None
    return t.go("confirm", *_masked(masked or MASK in text, t.incoming))


def edit_parts(t: Turn[GhiDraft], _arg: str) -> list[Reply]:
    t.draft.quick = False
    return t.go("services")


def change_household(t: Turn[GhiDraft], _arg: str) -> list[Reply] | None:
    """From the summary of a new record: pick the village and household again, keep the rest."""
    if t.draft.edit:
        return None
    d = t.draft
    d.name, d.household_id, d.phone3, d.matches, d.quick = "", None, None, [], True
    return t.go("village")


def change_day(t: Turn[GhiDraft], _arg: str) -> list[Reply]:
    return t.go("day")


def set_day(t: Turn[GhiDraft], text: str) -> list[Reply] | None:
    """A day typed or pressed ('hôm qua', '25/11', an ISO date from a button); back to the summary."""
    if re.fullmatch(r"\d{4}-\d\d-\d\d", text):
        text = dt.date.fromisoformat(text).strftime("%d/%m/%Y")
    today = t.deps.clock().date()
    day, why = parse_day(text, today, t.deps.settings.backdate_days)
    if day is None:  # at the summary, a day it cannot take ('25/12' ahead, too old) says why too
        return [Reply(why), *t.ask()] if t.step == "day" or says_a_day(text, today) else None
    t.draft.helped_on = day.isoformat()
    return t.go("confirm")


def confirm_text(t: Turn[GhiDraft], text: str) -> list[Reply]:
    """A day typed at the summary changes the day; a new one-line record naming a village of the team asks
    first about the record on screen; anything else: say what the buttons do."""
    command = words.as_command(text) or ""
    line = arg_text(command if command.startswith("/ghi ") else words.record_with_commas(text) or "")
    if line and not t.draft.edit:
        parts = record_parts(line, t.deps.clock().date())
        village = match_village(t.deps, t.draft.team_id, parts[1]) if len(parts) in (3, 4) else None
        if village is not None and not _same_household(t.draft, parts[0], village):
            t.draft.next_line = line
            return t.go("pending")
    return set_day(t, text) or [Reply("Bạn bấm Lưu để ghi phiếu, Sửa để đổi, Đổi ngày nếu không phải hôm nay, "
                                      "hoặc Hủy."), *t.ask()]


# "Nothing is lost": a new one-line /ghi typed under an unsaved summary asks about the record on screen first.
# (SAVE_WORDS typed under this question already press its "✅ Lưu phiếu đang ghi dở" in the core; built on the same
# set, the two cannot drift.)
PENDING_YES = SAVE_WORDS | {"co", "luu", "co luu", "luu di", "u", "uh", "vang", "da", "da vang", "vang a", "co a",
                            "luu phieu do", "luu phieu cu"}
PENDING_NO = {"khong", "ko", "k", "kg", "bo", "bo di", "bo qua", "khong luu", "ko luu", "k luu", "thoi", "huy",
              "bo phieu do", "bo phieu cu", "khong can"}


def ask_pending(t: Turn[GhiDraft]) -> list[Reply]:
    d = t.draft
    who = f" cho hộ {d.name}, {assist.village_label(d.village)}" if d.name else ""
    return [Reply(f"Phiếu bạn đang ghi dở{who} chưa được lưu. Lưu hồ sơ đang ghi dở không? "
                  "Sau đó tôi ghi tiếp phiếu mới bạn vừa gõ.",
                  (t.choice("✅ Lưu phiếu đang ghi dở", "keep"), t.choice("🗑️ Không lưu, bỏ phiếu đó", "drop"),
                   t.choice("↩️ Xem lại phiếu đang ghi dở", "back")))]


async def keep_pending(t: Turn[GhiDraft], _arg: str) -> list[Reply]:
    """Save the record on screen, then begin the one-line record typed after it."""
    line, t.draft.next_line = t.draft.next_line, ""
    out = await finish(t)
    return out + _next_record(t, line) if t.ended else out


def drop_pending(t: Turn[GhiDraft], _arg: str) -> list[Reply]:
    line, d = t.draft.next_line, t.draft
    t.end()
    said = f"Đã bỏ phiếu đang ghi dở{f' cho hộ {d.name}' if d.name else ''} (không lưu)."
    return [Reply(said), *_next_record(t, line)]


def back_to_summary(t: Turn[GhiDraft], _arg: str) -> list[Reply]:
    """Back to the record on screen; the new line is told back, to type again after saving."""
    line, t.draft.next_line = t.draft.next_line, ""
    return t.go("confirm", Reply(f"Phiếu mới bạn vừa gõ chưa ghi; lưu xong phiếu này, bạn gõ lại: /ghi {line}"))


async def type_pending(t: Turn[GhiDraft], text: str) -> list[Reply] | None:
    said = said_words(text)
    if said in PENDING_YES:
        return await keep_pending(t, "")
    return drop_pending(t, "") if said in PENDING_NO else None


def _next_record(t: Turn[GhiDraft], line: str) -> list[Reply]:
    if not line:
        return []
    member = team_member(t.deps, t.incoming)
    if isinstance(member, list):  # refused
        return member
    return quick(replace(t.incoming, warned=True), t.deps, t.session, member, line)  # warned when first typed


GHI = flows.Flow(
    name="ghi",
    draft=GhiDraft,
    steps={
        "village": Step(ask_village, {"v": pick_village}, type_village,
                        expects="Bạn chọn thôn trong danh sách, hoặc gõ tên thôn, ví dụ: Xuân Hạ."),
        "name": Step(ask_name, {"back": lambda t, _a: t.go("village")}, type_name, free_text=True,
                     expects="Bạn gõ tên chủ hộ, ví dụ: Nguyễn Văn An."),
        "match": Step(ask_match, {"h": pick_household, "new": new_household, "retype": retype}, type_match,
                      expects="Bạn chọn hộ trong danh sách, hoặc gõ lại tên chủ hộ, ví dụ: Nguyễn Văn An."),
        "phone": Step(ask_phone, {}, type_phone,
                      expects="Bạn gõ đúng 3 chữ số (ví dụ 678), hoặc gõ 0 nếu không có."),
        "services": Step(ask_services, {"s": toggle_service, "done": services_done}, type_services,
                         expects="Bạn chọn việc trong danh sách (hoặc gõ tên việc, ví dụ: kích hoạt VNeID), "
                                 "rồi bấm Xong."),
        "outcome": Step(ask_outcome, {"o": pick_outcome}, type_outcome,
                        expects="Bạn chọn một kết quả, hoặc gõ: xong, chưa xong, hẹn lại."),
        "reason": Step(ask_reason, {"r": pick_reason}, type_reason, free_text=True,
                       expects="Bạn chọn lý do, hoặc gõ ngắn gọn, ví dụ: thiếu giấy tờ."),
        "followup": Step(ask_followup, {"d": pick_followup}, type_followup,
                         expects=f"Bạn gõ ngày hẹn, ví dụ: {AHEAD_EXAMPLES}."),
        "why": Step(ask_why, {}, type_why, free_text=True,
                    expects="Bạn gõ lý do sửa (ít nhất vài chữ), ví dụ: ghi nhầm việc đã hỗ trợ."),
        "note": Step(ask_note, {"skip": skip_note, "clear": clear_note}, type_note, free_text=True),
        "confirm": Step(ask_confirm, {"edit": edit_parts, "day": change_day, "who": change_household,
                                      "due": change_due},
                        confirm_text),
        "day": Step(ask_day, {"k": set_day}, set_day, expects=f"Bạn gõ ngày đã hỗ trợ: {DAY_EXAMPLES}."),
        "pending": Step(ask_pending, {"keep": keep_pending, "drop": drop_pending, "back": back_to_summary},
                        type_pending, expects="Bạn bấm Lưu để lưu phiếu đang ghi dở, hoặc Không lưu để bỏ nó."),
    },
    cancelled=lambda d: (f"Đã hủy, phiếu số {d.edit} giữ nguyên." if d.edit
                         else "Đã hủy, phiếu này không được lưu. Gõ /ghi khi cần ghi phiếu mới."),
    dropped=lambda d: (f"Việc sửa phiếu số {d.edit} đang làm dở đã dừng; phiếu giữ nguyên." if d.edit
                       else f"Phiếu đang ghi dở{f' cho hộ {d.name}' if d.name else ''} chưa được lưu và đã bỏ."),
    resume_label="▶️ Tiếp tục ghi",
    hide_in_answers=("log:",),  # "Ghi nhận hỗ trợ hộ dân" would drop the draft being written
    cancel_question="Bỏ phiếu này, không lưu?",
)
# The old step name of the follow-up date, so a draft from before the upgrade resumes.
GHI.steps["date"] = GHI.steps["followup"]


def new_draft(member: Member, today: dt.date, **extra: Any) -> GhiDraft:
    return GhiDraft(rid=secrets.token_hex(8), team_id=member.team_id or 0, member_id=member.id,
                    helped_on=today.isoformat(), **extra)


def start(incoming: Incoming, deps: Deps, session: Session, draft: GhiDraft, *before: Reply) -> list[Reply]:
    """Begin /ghi at the first step the draft still needs."""
    options = teams.villages(deps.storage, draft.team_id)
    if not options:
        return [Reply("Tổ của bạn chưa có thôn nào trong danh sách. Hãy nhờ quản trị viên thêm thôn.")]
    if draft.village_id is None and len(options) == 1:
        set_village(draft, options[0])
    enter = after_village if draft.village_id is not None else None
    return begin(GHI, "village", draft, incoming, deps, session, *before, enter=enter)


# --- commands ------------------------------------------------------------------------------------

async def log_command(incoming: Incoming, deps: Deps, session: Session) -> list[Reply]:
    """/ghi, or the one-line form /ghi <tên>; <thôn>; <việc>[; <ngày>]."""
    member = team_member(deps, incoming)
    if isinstance(member, list):  # refused
        return member
    args = arg_text(incoming.text)
    if args:
        return quick(incoming, deps, session, member, args)
    flow = session.flow
    if flow and flow["name"] == "ghi" and not (flow.get("data") or {}).get("edit"):
        turn = flows.current(session, {"ghi": GHI}, incoming, deps)
        assert turn is not None  # a "ghi" flow is active
        return [Reply("Bạn đang ghi dở một phiếu; tôi hỏi tiếp nhé (gõ /huy để bỏ phiếu đó)."), *turn.ask()]
    return start(incoming, deps, session, new_draft(member, deps.clock().date()))


def _same_household(draft: GhiDraft, name: str, village: teams.Village | None) -> bool:
    """The line names the household of the draft again (typed anew to fix it): it replaces the draft."""
    return fold(clean_name(name)[0]) == fold(draft.name) and village is not None and village.id == draft.village_id


def record_parts(args: str, today: dt.date) -> list[str]:
    """A one-line record's parts: 'tên; thôn; việc[; ngày]'. Written with commas only ('Nguyễn Văn An, Xuân Hạ,
    cài vneid, ngân hàng, hôm qua'), the first two are the name and the village, a last part that says a day
    (read against the bot's `today`) is the day, and the rest are the services."""
    if ";" in args or args.count(",") < 2:
        return [p.strip() for p in args.split(";")]
    name, village, *rest = (p.strip() for p in args.split(","))
    day = rest.pop() if len(rest) > 1 and says_a_day(rest[-1], today) else None
    return [name, village, ", ".join(rest), *([day] if day else [])]


async def record_with_commas(incoming: Incoming, deps: Deps, session: Session) -> list[Reply] | None:
    """Text no step took that is a one-line record written with commas: logged like `/ghi` (or refused)."""
    if incoming.payload is not None or incoming.kind != "text" or incoming.is_group:
        return None
    command = words.record_with_commas(incoming.text)
    return await log_command(replace(incoming, text=command), deps, session) if command else None


def quick(incoming: Incoming, deps: Deps, session: Session, member: Member, args: str) -> list[Reply]:
    """The one-line form: every part understood is shown in the summary to confirm or fix."""
    today = deps.clock().date()
    parts = record_parts(args, today)
    if len(parts) not in (3, 4) or not parts[0]:
        return [Reply(GHI_USAGE)]
    turn = flows.current(session, {"ghi": GHI}, incoming, deps) if (session.flow or {}).get("name") == "ghi" else None
    if turn is not None and not turn.draft.edit and turn.step in ("confirm", "pending") and not _same_household(
            turn.draft, parts[0], match_village(deps, turn.draft.team_id, parts[1])):
        turn.draft.next_line = args  # the record on screen is complete but unsaved: ask before replacing it
        return turn.go("pending")
    name, masked = clean_name(parts[0])
    if not name or not_a_name(name):
        return [*_masked(masked, incoming), Reply("Tôi chưa thấy tên chủ hộ. " + GHI_USAGE)]
    day, why = parse_day(parts[3], today, deps.settings.backdate_days) if len(parts) == 4 else (today, "")
    if day is None:
        return [Reply(f"{why}\n{GHI_USAGE}")]
    codes, unknown = parse_services(parts[2])
    draft = new_draft(member, today, name=name, services=codes, quick=True, unknown=unknown)
    draft.helped_on = day.isoformat()
    before = list(_masked(masked, incoming))
    if unknown:
        then = ("bạn chọn việc ở bước tới nhé" if not codes
                else "nếu cần thêm việc, bấm \"Sửa\" ở bản tóm tắt để chọn")
        before.append(Reply(f"Tôi chưa hiểu việc \"{', '.join(unknown)[:100]}\"; {then}."))
    village = match_village(deps, member.team_id or 0, parts[1])
    if village is None:
        before.append(Reply(f"Tôi không thấy thôn \"{parts[1][:40]}\" trong danh sách của tổ."))
    else:
        set_village(draft, village)
    return start(incoming, deps, session, draft, *before)


async def log_from_answer(incoming: Incoming, deps: Deps, session: Session) -> list[Reply]:
    """'Ghi nhận hỗ trợ hộ dân' under an FAQ answer: the flow with the topic's service chosen."""
    member = team_member(deps, incoming)
    if isinstance(member, list):  # refused
        return member
    code = (incoming.payload or "").partition(":")[2]
    services = [code] if assist.catalogue().get(code) else []
    return start(incoming, deps, session, new_draft(member, deps.clock().date(), services=services))


def answer_choices(entry: Any, incoming: Incoming, deps: Deps) -> list[Choice]:
    """Members of a team can log a household straight from an answer (in a private chat)."""
    if incoming.is_group:
        return []
    member = member_for(deps, incoming.user_key)
    if not isinstance(member, Member) or member.team_id is None:
        return []
    service = assist.catalogue().for_topic(getattr(entry, "topic", ""))
    return [Choice("Ghi nhận hỗ trợ hộ dân", f"log:{service.code if service else ''}")]


async def save(incoming: Incoming, deps: Deps, session: Session) -> list[Reply]:
    """The "Lưu" button: payload 'ghi:save:<draft id>'. Saves once, however often it is pressed."""
    rid = (incoming.payload or "").split(":")[-1]
    turn = flows.current(session, {"ghi": GHI}, incoming, deps)
    if turn is None or turn.draft.rid != rid:  # pressed again after saving, or a button from another draft
        done = assist.record_for_request(deps.storage.db, rid)  # records.request_id is the draft id, UNIQUE
        if done:
            return [Reply(f"Phiếu này đã được lưu rồi. Số phiếu: {done}.")]
        return [Reply("Nút này đã cũ. Gõ /ghi để ghi phiếu mới, hoặc /cuatoi để xem các phiếu đã lưu.")]
    if turn.step == "pending":  # "Lưu" under the summary, pressed after a new one-line record was typed
        return await keep_pending(turn, "")
    if turn.step != "confirm":
        return [Reply("Phiếu chưa đủ thông tin để lưu; tôi hỏi tiếp nhé."), *turn.ask()]
    return await finish(turn)


async def finish(turn: Turn[GhiDraft]) -> list[Reply]:
    """Save the draft of `turn` (checked: the member's own, or a leader's allowed correction) and end the flow."""
    incoming, deps, d = turn.incoming, turn.deps, turn.draft
    member: Actor | list[Reply] | None
    if d.corrector is not None:  # a leader's (or an admin's) correction of someone else's record
        member = member_for(deps, incoming.user_key)
        record = assist.get_record(deps.storage.db, d.edit or 0)
        if member is None or incoming.user_key != d.corrector or not review.may_correct(
                member, record, deps.clock(), deps.settings.leader_edit_days):
            return turn.end(Reply(NOT_LEADER_EDIT.format(days=deps.settings.leader_edit_days)))
    else:
        member = team_member(deps, incoming)
        if isinstance(member, list):  # refused
            return turn.end(*member)
        if member.team_id != d.team_id or member.id != d.member_id:
            return turn.end(Reply(NOT_MEMBER))
    assert member is not None and not isinstance(member, list)  # checked on both paths above
    record_id, text = write(deps, member, d)
    turn.session.state[SAVED] = {"id": record_id, "at": deps.clock().isoformat(timespec="seconds")}
    if d.corrector is not None and text.startswith("Đã sửa"):
        told = await notify.tell(deps, d.member_id, (
            f"Tổ trưởng {member.display_name} đã sửa phiếu số {record_id} của bạn "
            f"({review.changed_fields(deps.storage.db, record_id)}). Lý do: {d.why}\n"
            f"Gõ /cuatoi để xem lại phiếu."))
        text += " Đã báo cho thành viên." if told else " (Chưa nhắn được cho thành viên lúc này.)"
    if d.edit:
        return turn.end(Reply(text))
    # Optional, and only on request (a numbered list here would catch a "Lưu" typed twice on Zalo).
    return turn.end(Reply(f"{text}\nGhi số người được hỗ trợ và kết quả (VNeID mức 2, tài khoản...): "
                          f"/ketqua {record_id}"))


# "Đúng rồi", "ok" typed just after a record was saved (the summary said "Đúng rồi thì bấm Lưu."): told it is
# saved, never saved again. Any other message first forgets the saved record (`acknowledged`, first in line).
SAVED = "saved"
SAVED_FOR = dt.timedelta(minutes=30)
ACK_WORDS = SAVE_WORDS | {"okie", "luu", "luu di", "ok roi", "ok a", "roi", "xong", "xong roi", "duoc roi", "luu roi",
                          "vang", "vang a", "da", "da vang", "da vang a", "u", "uh", "co", "dung a", "dung roi a",
                          "chuan", "chuan roi"}


async def acknowledged(incoming: Incoming, deps: Deps, session: Session) -> list[Reply] | None:
    """'đúng rồi', 'ok' right after a saved record: a warm 'already saved'; anything else forgets it."""
    saved = session.state.pop(SAVED, None)
    if (saved is None or incoming.payload is not None or incoming.kind != "text" or incoming.is_group
            or session.flow is not None or session.state.get("choices")):
        return None
    said = said_words(incoming.text)
    try:
        recent = deps.clock() - dt.datetime.fromisoformat(saved["at"]) <= SAVED_FOR
    except (KeyError, TypeError, ValueError):
        recent = False
    if said not in ACK_WORDS or not recent:
        return None
    session.state[SAVED] = saved  # a second "ok" is told the same
    return [Reply(f"Đã lưu rồi ạ, phiếu số {saved.get('id')} đã vào sổ của tổ, bạn không cần làm gì thêm. "
                  "Gõ /ghi để ghi hộ tiếp theo, hoặc /cuatoi để xem lại các phiếu đã lưu.")]


def write(deps: Deps, member: Actor, d: GhiDraft) -> tuple[int, str]:
    """Store the draft (a new record, or the edit of one); the receipt and what to say."""
    now = deps.clock()
    if d.edit:
        changes = {"services": d.services, "outcome": d.outcome, "reason": d.reason,
                   "followup_on": d.followup_on, "note": d.note, "helped_on": d.helped_on}
        ok = assist.update_record(deps.storage, d.edit, member.actor_id, changes, now,
                                  why=d.why if d.corrector is not None else None)
        return d.edit, (f"Đã sửa phiếu số {d.edit}." if ok else f"Phiếu số {d.edit} đã bị xóa nên không sửa được.")
    if not isinstance(member, Member):  # a new record needs a member row (team_member refuses admins without one)
        raise ValueError("a new record needs a member of a team")
    result = assist.save_record(deps.storage, assist.Draft(
        request_id=d.rid, team_id=d.team_id, member_id=member.id, village_id=d.village_id or 0,
        services=d.services, household_id=d.household_id, head_name=d.name, phone_last3=d.phone3,
        outcome=d.outcome, reason=d.reason, followup_on=d.followup_on, note=d.note, helped_on=d.helped_on), now)
    if not result.created:
        return result.record_id, f"Phiếu này đã được lưu rồi. Số phiếu: {result.record_id}."
    when = "" if d.helped_on == now.date().isoformat() else f" (ngày hỗ trợ {vn_date(d.helped_on)})"
    return result.record_id, f"Đã lưu. Số phiếu: {result.record_id}{when}. Cảm ơn bạn! Gõ /ghi để ghi hộ tiếp theo."


COMMANDS = {"/ghi": log_command}
PAYLOADS = {"ghi": save, "log": log_from_answer}
FLOWS = {"ghi": GHI}
HELP = [("/ghi", "ghi nhận một hộ dân đã hỗ trợ (hoặc ghi Tên chủ hộ; Thôn; kích hoạt VNeID; hôm qua)", "member")]
