"""Teams and members: /taoto (admin), /moi (leader/admin), /thamgia <mã>, /thanhvien (leader)."""

from __future__ import annotations

from bot import teams
from bot.access import IN_GROUP, NO_TEAMS, NOT_ADMIN, NOT_LEADER, ROLE_NAMES, member_for
from bot.core import Deps, Incoming, Reply, Session
from bot.safety import redact
from bot.web import auth as web_auth

from .flowkit import arg_text, dropping_draft, flow_value, nudge

TAOTO_USAGE = ("Cách tạo tổ: /taoto <tên tổ>; <xã>; <thôn 1, thôn 2, ...>\n"
               "Ví dụ: /taoto Tổ CNS thôn Xuân; Xã Xuân Thượng; Xuân Thượng, Xuân Hạ, Đồng Tâm")


async def create_team(incoming: Incoming, deps: Deps, session: Session) -> list[Reply]:
    """/taoto <tên>; <xã>; <thôn, thôn>: admins only."""
    if not deps.is_admin(incoming.user_key):
        return [Reply(NOT_ADMIN)]
    parts = [p.strip() for p in arg_text(incoming.text).split(";")]
    if len(parts) != 3 or not all(parts):
        return [Reply(TAOTO_USAGE)]
    name, commune, village_text = (redact(p).text[:80] for p in parts)
    village_names = [v.strip()[:60] for v in village_text.replace("\n", ",").split(",") if v.strip()]
    if not village_names:
        return [Reply(TAOTO_USAGE)]
    member = member_for(deps, incoming.user_key)
    team_id = teams.create_team(deps.storage, name, commune, village_names, member.id if member else None,
                                deps.clock())
    listed = ", ".join(v.name for v in teams.villages(deps.storage, team_id))
    return [Reply(f"Đã tạo tổ \"{name}\" ({commune}), gồm các thôn: {listed}.\n"
                  "Gõ /moi totruong để tạo mã mời tổ trưởng, hoặc /moi để mời thành viên.")]


def _invite_reply(code: str, team: teams.Team, role: str, expires) -> list[Reply]:
    until = expires.strftime("%d/%m/%Y")
    return [Reply(
        f"Mã mời {ROLE_NAMES[role]} tổ \"{team.name}\": {code}\n"
        f"Mã dùng được 1 lần, đến hết ngày {until}. Người được mời nhắn cho tôi: /thamgia {code}"
    )]


async def invite(incoming: Incoming, deps: Deps, session: Session) -> list[Reply]:
    """/moi (member) or /moi totruong (admins only): a one-use code for a team."""
    member = member_for(deps, incoming.user_key)
    if member is None or not member.is_leader:
        return [Reply(NOT_LEADER)]
    words = teams.clean_code(arg_text(incoming.text))
    role = "leader" if words in {"TOTRUONG", "TRUONG", "LEADER"} else "member"
    if role == "leader" and not member.is_admin:
        return [Reply(NOT_ADMIN)]
    if member.is_admin:
        all_teams = teams.list_teams(deps.storage)
        if not all_teams:
            return [Reply(NO_TEAMS)]
        if len(all_teams) > 1:
            dropped = dropping_draft(session)
            session.start_flow("moi", "team", {"role": role})
            return dropped + [_team_question(session, all_teams)]
        team = all_teams[0]
    else:
        team = teams.get_team(deps.storage, member.team_id or 0)
        if team is None:
            return [Reply(NOT_LEADER)]
    code, expires = teams.create_invite(deps.storage, team.id, role, member.id, deps.clock())
    return _invite_reply(code, team, role, expires)


def _team_question(session: Session, all_teams: list[teams.Team]) -> Reply:
    return Reply("Mã mời cho tổ nào?", tuple(session.flow_choice(f"{t.name} ({t.commune})", str(t.id))
                                             for t in all_teams))


async def invite_flow(incoming: Incoming, deps: Deps, session: Session) -> list[Reply]:
    member = member_for(deps, incoming.user_key)
    if member is None or not member.is_admin:
        session.end_flow()
        return [Reply(NOT_ADMIN)]
    all_teams = teams.list_teams(deps.storage)
    value = flow_value(incoming)
    team = next((t for t in all_teams if value is not None and str(t.id) == value), None)
    if team is None:
        return [*nudge(incoming), _team_question(session, all_teams)]
    role = session.flow["data"].get("role", "member")
    session.end_flow()
    code, expires = teams.create_invite(deps.storage, team.id, role, member.id or None, deps.clock())
    return _invite_reply(code, team, role, expires)


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
    code = teams.clean_code(arg_text(incoming.text))
    if not code:
        return [Reply("Bạn gõ /thamgia kèm mã mời, ví dụ: /thamgia K7PQ2M. Chưa có mã thì nhờ tổ trưởng gửi.")]
    name = redact((incoming.display_name or "").strip()).text[:60] or f"Thành viên {incoming.user_id[-4:]}"
    guard, now = teams.code_guard(deps.extras), deps.clock()
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
    extra = (" Với vai trò tổ trưởng, bạn dùng /moi để mời thành viên và /thanhvien để xem tổ."
             if role == "leader" else "")
    return [Reply(f"Chào mừng {name} tham gia tổ \"{team.name}\" với vai trò {ROLE_NAMES[role]}! "
                  f"Gõ /ghi để ghi nhận một hộ dân bạn đã hỗ trợ.{extra}")]


def _member_list(deps: Deps, session: Session, team_id: int, me: int) -> list[Reply]:
    today = deps.clock().date()
    rows = teams.team_members(deps.storage, team_id, today.replace(day=1))
    team = teams.get_team(deps.storage, team_id)
    lines = [f"{i}. {r.display_name} ({ROLE_NAMES.get(r.role, r.role)}): {r.logs_this_month} lượt"
             for i, r in enumerate(rows, 1)]
    text = (f"Tổ \"{team.name if team else ''}\": {len(rows)} thành viên. Số lượt ghi nhận tháng "
            f"{today.month}/{today.year}:\n" + ("\n".join(lines) or "(chưa có ai)"))
    choices = [session.flow_choice(f"Cho {r.display_name} rời tổ", f"rm{r.id}") for r in rows if r.id != me]
    choices.append(session.flow_choice("Xong", "close"))
    return [Reply(text, tuple(choices))]


async def members(incoming: Incoming, deps: Deps, session: Session) -> list[Reply]:
    """/thanhvien: the team's members with this month's counts; remove one."""
    member = member_for(deps, incoming.user_key)
    if member is None or not member.is_leader:
        return [Reply(NOT_LEADER)]
    if incoming.is_group:
        return [Reply(IN_GROUP)]
    if member.team_id is None:  # an admin without a team: pick one
        all_teams = teams.list_teams(deps.storage)
        if not all_teams:
            return [Reply(NO_TEAMS)]
        dropped = dropping_draft(session)
        session.start_flow("thanhvien", "team", {})
        return dropped + [Reply("Xem thành viên tổ nào?", tuple(session.flow_choice(t.name, str(t.id)) for t in all_teams))]
    dropped = dropping_draft(session)
    session.start_flow("thanhvien", "list", {"team_id": member.team_id})
    return dropped + _member_list(deps, session, member.team_id, member.id)


async def members_flow(incoming: Incoming, deps: Deps, session: Session) -> list[Reply]:
    member = member_for(deps, incoming.user_key)
    flow = session.flow
    data = flow["data"]
    if member is None or not member.is_leader or (data.get("team_id") and not member.can_see_team(data["team_id"])):
        session.end_flow()
        return [Reply(NOT_LEADER)]
    value = flow_value(incoming)
    step = flow["step"]
    if step == "team":
        ids = {str(t.id): t.id for t in teams.list_teams(deps.storage)}
        if value not in ids:
            return [*nudge(incoming), Reply("Xem thành viên tổ nào?", tuple(
                session.flow_choice(t.name, str(t.id)) for t in teams.list_teams(deps.storage)))]
        data["team_id"] = ids[value]
        session.advance("list")
        return _member_list(deps, session, data["team_id"], member.id)
    if step == "list":
        if value == "close":
            session.end_flow()
            return [Reply("Xong. Gõ /moi khi cần mời thêm thành viên.")]
        if value and value.startswith("rm") and value[2:].isdigit():
            target = next((r for r in teams.team_members(deps.storage, data["team_id"], deps.clock().date())
                           if r.id == int(value[2:])), None)
            if target is not None:
                data["target"], data["target_name"] = target.id, target.display_name
                session.advance("confirm")
                return [Reply(f"Cho {target.display_name} rời tổ? Các phiếu người này đã ghi vẫn được giữ.",
                              (session.flow_choice("Đồng ý", "yes"), session.flow_choice("Không", "no")))]
        return [*nudge(incoming), *_member_list(deps, session, data["team_id"], member.id)]
    # confirm
    if value == "yes":
        done = teams.remove_member(deps.storage, data["target"], data["team_id"], member.id or None, deps.clock())
        web_auth.revoke_member(deps, data["target"])  # their web view sessions end now, not at the next click
        session.end_flow()
        name = data.get("target_name", "")
        return [Reply(f"{name} đã rời tổ." if done else f"{name} đã không còn trong tổ.")]
    if value == "no":
        session.advance("list")
        return _member_list(deps, session, data["team_id"], member.id)
    return [*nudge(incoming), Reply(f"Cho {data.get('target_name', '')} rời tổ?",
                                           (session.flow_choice("Đồng ý", "yes"), session.flow_choice("Không", "no")))]


COMMANDS = {"/taoto": create_team, "/moi": invite, "/thamgia": join, "/thanhvien": members}
FLOWS = {"moi": invite_flow, "thanhvien": members_flow}
HELP = [
    ("/thamgia <mã>", "tham gia tổ công nghệ số bằng mã mời"),
    ("/moi", "tổ trưởng: tạo mã mời thành viên (quản trị: /moi totruong)"),
    ("/thanhvien", "tổ trưởng: xem thành viên và số lượt ghi nhận tháng này"),
    ("/taoto", "quản trị: tạo tổ mới"),
]
