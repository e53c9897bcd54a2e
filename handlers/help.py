"""/start, /trogiup, /help: what the bot does and which commands it knows."""

from __future__ import annotations

from collections.abc import Sequence
from types import ModuleType

from bot.access import member_for
from bot.core import Deps, Incoming, Reply, Session

from .topics import topic_choices

GREETING = (
    "Xin chào {name}! Tôi là trợ lý của Tổ công nghệ số cộng đồng.\n"
    "Tôi trả lời các câu hỏi về VNeID, dịch vụ công trực tuyến, thanh toán không dùng tiền mặt "
    "và cách phòng tránh lừa đảo. Bạn cứ gõ câu hỏi, có dấu hay không dấu đều được, "
    "ví dụ: \"quen mat khau vneid\".\n{next}"
    "Hoặc chọn một chủ đề bên dưới:"
)
# What a newcomer does next, by role: a member of a team arriving with the leader's invite code needs /thamgia.
NEXT_STEP = {
    None: "Thành viên tổ công nghệ số: gõ /thamgia kèm mã mời tổ trưởng gửi, ví dụ /thamgia K7PQ2M.\n",
    "member": "Ghi một hộ dân vừa hỗ trợ: gõ /ghi.\n",
    "leader": "Ghi một hộ dân: /ghi. Báo cáo của tổ: /baocao.\n",
}

# (command, short Vietnamese description, who sees it). Feature modules add their own lines (HELP).
# Who: "all" (anyone), "member" (team members), "leader" (leaders and admins), "admin".
BASE_HELP = [
    ("/chude", "xem các chủ đề hỏi đáp", "all"),
    ("/trogiup", "xem hướng dẫn này", "all"),
    ("/huy", "hủy thao tác đang làm", "all"),
]
# Commune and province officials read reports like leaders (bot/scope.py decides which teams).
LEVELS = {None: 0, "all": 0, "member": 1, "leader": 2, "commune": 2, "province": 2, "admin": 3}
HEADINGS = {"all": "Các lệnh", "member": "Thành viên tổ", "leader": "Tổ trưởng", "admin": "Quản trị"}


def help_lines(features: Sequence[ModuleType], role: str | None = "admin") -> list[tuple[str, str]]:
    """The commands a `role` may use (None: someone not in a team), in the order of `features`."""
    return [(cmd, desc) for cmd, desc, who in _all_lines(features) if LEVELS[who] <= LEVELS[role]]


def _all_lines(features: Sequence[ModuleType]) -> list[tuple[str, str, str]]:
    lines = list(BASE_HELP)
    for module in features:
        lines.extend((line[0], line[1], line[2] if len(line) > 2 else "member") for line in getattr(module, "HELP", []))
    return lines


def role_of(deps: Deps, user_key: str) -> str | None:
    member = member_for(deps, user_key)
    if member is None:
        return None
    return member.role


async def start(incoming: Incoming, deps: Deps, session: Session) -> list[Reply]:
    """Greet and offer the topics."""
    name = (incoming.display_name or "bạn").strip()[:40] or "bạn"
    next_step = NEXT_STEP.get(role_of(deps, incoming.user_key), "")
    return [Reply(GREETING.format(name=name, next=next_step), topic_choices())]


async def show_help(incoming: Incoming, deps: Deps, session: Session) -> list[Reply]:
    """List what the bot understands, for this person's role only."""
    role = role_of(deps, incoming.user_key)
    sections = []
    for who, heading in HEADINGS.items():
        if LEVELS[who] > LEVELS[role]:
            continue
        lines = [f"{cmd} - {desc}" for cmd, desc, level in _all_lines(deps.router.features) if level == who]
        if lines:
            sections.append(f"{heading}:\n" + "\n".join(lines))
    join = "" if role else "\nBạn là thành viên tổ công nghệ số? Nhờ tổ trưởng gửi mã, rồi gõ: tham gia <mã>.\n"
    return [Reply(
        "Cách dùng:\n"
        "- Gõ câu hỏi bằng chữ, có dấu hay không dấu đều được.\n"
        "- Khi tôi đưa ra lựa chọn, bấm nút hoặc gõ số thứ tự (gõ được nhiều số: 3 7).\n"
        "- Gõ lệnh có hay không có dấu \"/\" đều được, ví dụ: ghi, bao cao, huy, tro giup.\n"
        "- Đừng bao giờ gửi số căn cước, mã OTP, mật khẩu hay passcode vào tin nhắn.\n"
        f"{join}\n" + "\n\n".join(sections)
    )]


COMMANDS = {"/start": start, "/trogiup": show_help, "/help": show_help}
