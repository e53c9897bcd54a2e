"""Teams and members: /taoto (admin), /moi (leader/admin), /thamgia <mã>, /thanhvien (leader)."""

from __future__ import annotations

from dataclasses import dataclass

from bot import flows, teams
from bot.access import (
    ADMINS,
    IN_GROUP,
    LEADERS,
    NO_TEAMS,
    ROLE_NAMES,
    Actor,
    member_for,
)
from bot.core import Deps, Incoming, Reply, Session
from bot.flows import Step, Turn
from bot.safety import redact
from bot.web import auth as web_auth
from knowledge.normalize import fold

from .flowkit import arg_text, begin

TAOTO_USAGE = ("Cách tạo tổ: /taoto <tên tổ>; <xã>; <thôn 1, thôn 2, ...>\n"
               "Ví dụ: /taoto Tổ CNS thôn Xuân; Xã Xuân Thượng; Xuân Thượng, Xuân Hạ, Đồng Tâm")


MAX_VILLAGES = 100


def _make_team(deps: Deps, user_key: str, name: str, commune: str, village_text: str) -> list[Reply]:
    name, commune = (redact(p).text[:80] for p in (name, commune))
    # The whole list: it was cut to its first 80 characters, so a commune's tenth village was lost or saved
    # half-written ("Thô").
    village_names = [v.strip()[:60] for v in redact(village_text).text.replace("\n", ",").split(",") if v.strip()]
    left_out = village_names[MAX_VILLAGES:]
    village_names = village_names[:MAX_VILLAGES]
    if not village_names:
        return [Reply(TAOTO_USAGE)]
    member = member_for(deps, user_key)
    team_id = teams.create_team(deps.storage, name, commune, village_names, member.actor_id if member else None,
                                deps.clock())
    listed = ", ".join(v.name for v in teams.villages(deps.storage, team_id))
    more = (f"\nMột tổ có tối đa {MAX_VILLAGES} thôn; {len(left_out)} thôn sau đó chưa được thêm."
            if left_out else "")
    return [Reply(f"Đã tạo tổ \"{name}\" ({commune}), gồm các thôn: {listed}.{more}\n"
                  "Gõ /moi totruong để tạo mã mời tổ trưởng, hoặc /moi để mời thành viên.")]


@dataclass
class TeamDraft:
    name: str = ""
    commune: str = ""


def _typed(field_name: str, next_step: str):
    def step(t: Turn[TeamDraft], text: str) -> list[Reply]:
        setattr(t.draft, field_name, text.strip()[:80])
        return t.go(next_step)
    return step


def _villages(t: Turn[TeamDraft], text: str) -> list[Reply]:
    return t.end(*_make_team(t.deps, t.incoming.user_key, t.draft.name, t.draft.commune, text))


TAOTO = flows.Flow(
    name="taoto", draft=TeamDraft,
    guard=ADMINS.guard(),
    steps={
        "name": Step(lambda t: [Reply("Tên tổ là gì? Ví dụ: Tổ CNS thôn Xuân")], text=_typed("name", "commune"),
                     free_text=True,
                     expects="Bạn gõ tên tổ, ví dụ: Tổ CNS thôn Xuân."),
        "commune": Step(lambda t: [Reply(f"Tổ \"{t.draft.name}\" thuộc xã/phường nào? Ví dụ: Xã Xuân Thượng")],
                        text=_typed("commune", "villages"), free_text=True,
                        expects="Bạn gõ tên xã, ví dụ: Xã Xuân Thượng."),
        "villages": Step(lambda t: [Reply("Tổ phụ trách các thôn nào? Gõ tên, cách nhau bằng dấu phẩy. "
                                          "Ví dụ: Xuân Thượng, Xuân Hạ, Đồng Tâm")],
                         text=_villages, free_text=True,
                         expects="Bạn gõ tên các thôn, ví dụ: Xuân Thượng, Xuân Hạ."),
    },
    cancelled=lambda _d: "Đã hủy, chưa tạo tổ nào.",
)


@ADMINS
async def create_team(incoming: Incoming, deps: Deps, session: Session, who: Actor) -> list[Reply]:
    """/taoto <tên>; <xã>; <thôn, thôn> in one line, or /taoto alone to be asked step by step (admins)."""
    args = arg_text(incoming.text)
    if not args:
        return begin(TAOTO, "name", TeamDraft(), incoming, deps, session,
                     Reply("Tạo tổ mới: tôi hỏi 3 câu (gõ /huy để dừng). " + TAOTO_USAGE.split("\n")[0]))
    parts = [p.strip() for p in args.split(";")]
    if len(parts) != 3 or not all(parts):
        return [Reply(TAOTO_USAGE)]
    return _make_team(deps, incoming.user_key, *parts)


def _invite_reply(code: str, team: teams.Team, role: str, expires) -> list[Reply]:
    until = expires.strftime("%d/%m/%Y")
    return [Reply(
        f"Mã mời {ROLE_NAMES[role]} tổ \"{team.name}\": {code}\n"
        f"Mã dùng được 1 lần, đến hết ngày {until}. Người được mời nhắn cho tôi: /thamgia {code}"
    )]


@LEADERS
async def invite(incoming: Incoming, deps: Deps, session: Session, member: Actor) -> list[Reply]:
    """/moi (member) or /moi totruong (admins only): a one-use code for a team."""
    words = teams.clean_code(arg_text(incoming.text))
    role = "leader" if words in {"TOTRUONG", "TRUONG", "LEADER"} else "member"
    if role == "leader" and not member.is_admin:
        return [Reply(ADMINS.refusal)]
    if member.is_admin:
        all_teams = teams.list_teams(deps.storage)
        if not all_teams:
            return [Reply(NO_TEAMS)]
        if len(all_teams) > 1:
            return begin(MOI, "team", InviteDraft(role), incoming, deps, session)
        team = all_teams[0]
    else:
        own = teams.get_team(deps.storage, member.team_id or 0)
        if own is None:
            return [Reply(LEADERS.refusal)]
        team = own
    code, expires = teams.create_invite(deps.storage, team.id, role, member.actor_id, deps.clock())
    return _invite_reply(code, team, role, expires)


@dataclass
class InviteDraft:
    role: str = "member"


def _pick_invite_team(t: Turn[InviteDraft], arg: str) -> list[Reply] | None:
    team = next((x for x in teams.list_teams(t.deps.storage) if str(x.id) == arg), None)
    if team is None:
        return None
    member = member_for(t.deps, t.incoming.user_key)
    code, expires = teams.create_invite(t.deps.storage, team.id, t.draft.role, member.actor_id if member else None,
                                        t.deps.clock())
    return t.end(*_invite_reply(code, team, t.draft.role, expires))


def _team_picker(question: str):
    def ask(t: Turn[object]) -> list[Reply]:
        return [Reply(question, tuple(t.choice(f"{x.name} ({x.commune})", f"t:{x.id}")
                                      for x in teams.list_teams(t.deps.storage)))]
    return ask


MOI = flows.Flow(name="moi", draft=InviteDraft, guard=ADMINS.guard(),
                 steps={"team": Step(_team_picker("Mã mời cho tổ nào?"), {"t": _pick_invite_team}, view=True)})


# Wrong, expired and used codes get the same answer: a guesser must not learn that a code existed.
NOT_USABLE = ("Mã {code} không dùng được: có thể gõ nhầm, mã đã hết hạn hoặc đã được dùng (mỗi mã chỉ dùng 1 lần). "
              "Bạn xem lại từng chữ (mã gồm 6 chữ và số in hoa), hoặc nhờ tổ trưởng tạo mã mới bằng /moi.")
JOIN_ERRORS = {
    "unknown": NOT_USABLE, "expired": NOT_USABLE, "used": NOT_USABLE,
    "already": "Bạn đã là thành viên của tổ \"{team}\" rồi. Gõ /trogiup để xem các lệnh.",
}
LOCKED = {
    "user": "Bạn đã nhập sai mã mời nhiều lần. Để giữ an toàn cho tổ, bạn đợi 30 phút rồi thử lại, "
            "hoặc nhờ tổ trưởng đọc lại mã giúp nhé.",
    "global": "Hiện có quá nhiều lượt nhập mã mời sai nên tôi tạm dừng nhận mã trong ít phút để giữ an toàn. "
              "Bạn thử lại sau 10 phút nhé.",
}


async def join(incoming: Incoming, deps: Deps, session: Session) -> list[Reply]:
    """/thamgia <MÃ>."""
    code = teams.invite_code(arg_text(incoming.text))
    if not code:
        return [Reply("Bạn gõ /thamgia kèm mã mời, ví dụ: /thamgia K7PQ2M. Chưa có mã thì nhờ tổ trưởng gửi.")]
    name = redact((incoming.display_name or "").strip()).text[:60] or f"Thành viên {incoming.user_id[-4:]}"
    guard, now = deps.services.invite_guard, deps.clock()
    locked = guard.refused(incoming.user_key, now)
    if locked:
        return [Reply(LOCKED[locked])]
    try:
        _, team, role = teams.redeem_invite(deps.storage, code, incoming.user_key, incoming.chat_id, name, now)
    except teams.InviteError as err:
        if err.reason != "already":
            guard.failed(incoming.user_key, now)
        return [Reply(JOIN_ERRORS[err.reason].format(code=code[:20], team=err.team_name))]
    guard.succeeded(incoming.user_key)
    if role in teams.OFFICIAL_ROLES:  # the place is a commune or a province
        return [Reply(f"Chào mừng {name} tham gia với vai trò {ROLE_NAMES[role]} của {team.title}! "
                      "Gõ /baocao để xem báo cáo của đơn vị, /xuat để lấy tệp Excel theo mẫu báo cáo, "
                      "/moi để mời cán bộ hoặc tổ trưởng.")]
    extra = (" Với vai trò tổ trưởng, bạn dùng /moi để mời thành viên và /thanhvien để xem tổ."
             if role == "leader" else "")
    return [Reply(f"Chào mừng {name} tham gia tổ \"{team.name}\" với vai trò {ROLE_NAMES[role]}! "
                  f"Gõ /ghi để ghi nhận một hộ dân bạn đã hỗ trợ.{extra}")]


@dataclass
class MembersDraft:
    team_id: int = 0
    target: int = 0
    target_name: str = ""


def _me(t: Turn[MembersDraft]) -> Actor | None:
    return member_for(t.deps, t.incoming.user_key)


def ask_members(t: Turn[MembersDraft]) -> list[Reply]:
    today = t.deps.clock().date()
    rows = teams.team_members(t.deps.storage, t.draft.team_id, today.replace(day=1))
    team = teams.get_team(t.deps.storage, t.draft.team_id)
    # Bullets, not "1. 2.": on Zalo and the console the choices below are the numbered lines, and "2" typed for
    # the second member in a numbered list here picked the second choice instead.
    lines = [f"- {r.display_name} ({ROLE_NAMES.get(r.role, r.role)}): {r.logs_this_month} lượt" for r in rows]
    text = (f"Tổ \"{team.name if team else ''}\": {len(rows)} thành viên. Số lượt ghi nhận tháng "
            f"{today.month}/{today.year}:\n" + ("\n".join(lines) or "(chưa có ai)"))
    me = _me(t)
    choices = [t.choice(f"Cho {r.display_name} rời tổ", f"rm:{r.id}") for r in rows if not me or r.id != me.id]
    choices.append(t.choice("Xong", "close"))
    return [Reply(text, tuple(choices))]


def pick_members_team(t: Turn[MembersDraft], arg: str) -> list[Reply] | None:
    if not arg.isdigit() or teams.get_team(t.deps.storage, int(arg)) is None:
        return None
    t.draft.team_id = int(arg)
    return t.go("list")


def pick_remove(t: Turn[MembersDraft], arg: str) -> list[Reply] | None:
    target = next((r for r in teams.team_members(t.deps.storage, t.draft.team_id, t.deps.clock().date())
                   if str(r.id) == arg), None)
    if target is None:
        return None
    t.draft.target, t.draft.target_name = target.id, target.display_name
    return t.go("confirm")


def ask_remove(t: Turn[MembersDraft]) -> list[Reply]:
    return [Reply(f"Cho {t.draft.target_name} rời tổ? Các phiếu người này đã ghi vẫn được giữ.",
                  (t.choice("Đồng ý", "yes"), t.choice("Không", "no")))]


def remove_yes(t: Turn[MembersDraft], _arg: str) -> list[Reply]:
    me = _me(t)
    done = teams.remove_member(t.deps.storage, t.draft.target, t.draft.team_id, me.actor_id if me else None,
                               t.deps.clock())
    web_auth.revoke_member(t.deps, t.draft.target)  # their web view sessions end now, not at the next click
    name = t.draft.target_name
    return t.end(Reply(f"{name} đã rời tổ." if done else f"{name} đã không còn trong tổ."))


THANHVIEN = flows.Flow(
    name="thanhvien", draft=MembersDraft, guard=LEADERS.guard(team=lambda d: d.team_id or None),
    steps={
        "team": Step(_team_picker("Xem thành viên tổ nào?"), {"t": pick_members_team}, view=True),
        "list": Step(ask_members, {"rm": pick_remove,
                                   "close": lambda t, _a: t.end(Reply("Xong. Gõ /moi khi cần mời thêm thành viên."))},
                     view=True),
        "confirm": Step(ask_remove, {"yes": remove_yes, "no": lambda t, _a: t.go("list")}, view=True),
    },
)


@LEADERS
async def members(incoming: Incoming, deps: Deps, session: Session, member: Actor) -> list[Reply]:
    """/thanhvien: the team's members with this month's counts; remove one."""
    if incoming.is_group:
        return [Reply(IN_GROUP)]
    if member.team_id is None:  # an admin without a team: pick one
        if not teams.list_teams(deps.storage):
            return [Reply(NO_TEAMS)]
        return begin(THANHVIEN, "team", MembersDraft(), incoming, deps, session)
    draft = MembersDraft(member.team_id)
    named = " ".join(fold(arg_text(incoming.text)).split())
    if named:  # "xóa thành viên Lan", "cho Lan rời tổ": straight to "Cho Lan rời tổ?" when one member has that name
        rows = [r for r in teams.team_members(deps.storage, member.team_id, deps.clock().date())
                if r.id != member.id and " ".join(fold(r.display_name).split()) == named]
        if len(rows) == 1:
            draft.target, draft.target_name = rows[0].id, rows[0].display_name
            return begin(THANHVIEN, "confirm", draft, incoming, deps, session)
        said = Reply(f"Tôi không thấy thành viên tên \"{arg_text(incoming.text)[:40]}\" trong tổ "
                     f"(hoặc có nhiều người trùng tên). Bạn chọn trong danh sách dưới đây.")
        return begin(THANHVIEN, "list", draft, incoming, deps, session, said)
    return begin(THANHVIEN, "list", draft, incoming, deps, session)


COMMANDS = {"/taoto": create_team, "/moi": invite, "/thamgia": join, "/thanhvien": members}
FLOWS = {"taoto": TAOTO, "moi": MOI, "thanhvien": THANHVIEN}
HELP = [
    ("/thamgia <mã>", "tham gia tổ công nghệ số bằng mã mời", "all"),
    ("/moi", "tạo mã mời thành viên (quản trị: /moi totruong)", "leader"),
    ("/thanhvien", "xem thành viên và số lượt ghi nhận tháng này", "leader"),
    ("/taoto", "tạo tổ mới", "admin"),
]
