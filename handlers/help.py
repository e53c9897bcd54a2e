"""/start, /trogiup, /help: what the bot does and which commands it knows."""

from __future__ import annotations

from bot.core import Deps, Incoming, Reply, Session

from .topics import topic_choices

GREETING = (
    "Xin chào {name}! Tôi là trợ lý của Tổ công nghệ số cộng đồng.\n"
    "Tôi trả lời các câu hỏi về VNeID, dịch vụ công trực tuyến, thanh toán không dùng tiền mặt "
    "và cách phòng tránh lừa đảo. Bạn cứ gõ câu hỏi, có dấu hay không dấu đều được, "
    "ví dụ: \"quen mat khau vneid\".\n"
    "Hoặc chọn một chủ đề bên dưới:"
)

# Command -> short Vietnamese description. Feature modules add their own lines (HELP).
BASE_HELP = [
    ("/chude", "xem các chủ đề hỏi đáp"),
    ("/trogiup", "xem hướng dẫn này"),
    ("/huy", "hủy thao tác đang làm"),
]


def help_lines() -> list[tuple[str, str]]:
    from handlers import FEATURES  # late: the package imports this module

    lines = list(BASE_HELP)
    for module in FEATURES:
        lines.extend(getattr(module, "HELP", []))
    return lines


async def start(incoming: Incoming, deps: Deps, session: Session) -> list[Reply]:
    """Greet and offer the topics."""
    name = (incoming.display_name or "bạn").strip()[:40] or "bạn"
    return [Reply(GREETING.format(name=name), topic_choices())]


async def show_help(incoming: Incoming, deps: Deps, session: Session) -> list[Reply]:
    """List what the bot understands."""
    lines = "\n".join(f"{cmd} - {desc}" for cmd, desc in help_lines())
    return [Reply(
        "Cách dùng:\n"
        "- Gõ câu hỏi bằng chữ, có dấu hay không dấu đều được.\n"
        "- Khi tôi đưa ra lựa chọn, bấm nút hoặc gõ số thứ tự.\n"
        "- Đừng bao giờ gửi số căn cước, mã OTP, mật khẩu hay passcode vào tin nhắn.\n\n"
        f"Các lệnh:\n{lines}"
    )]


COMMANDS = {"/start": start, "/trogiup": show_help, "/help": show_help}
