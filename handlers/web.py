"""/web: open the leaders' web view. Telegram gets a Mini App button (signed in by Telegram);
Zalo and the console get a one-time sign-in link valid 10 minutes."""

from __future__ import annotations

from bot.access import IN_GROUP, READERS, Actor
from bot.core import Choice, Deps, Incoming, Reply, Session
from bot.web import auth

OPEN = "📊 Mở trang báo cáo"
NO_SERVER = ("Trang báo cáo trên web chưa được bật: quản trị viên cần đặt PUBLIC_BASE_URL "
             "(địa chỉ công khai của máy chủ). Trong lúc chờ, bạn dùng /baocao, /xuat, /bieudo nhé.")


def mini_app(deps: Deps, incoming: Incoming) -> Choice | None:
    """The Mini App button, on Telegram with an https address (Telegram opens nothing else)."""
    base = deps.settings.public_base_url
    if incoming.channel != "telegram" or incoming.is_group or not base.startswith("https://"):
        return None
    return Choice(OPEN, url=f"{base}/app/", web_app=True)


def offer(deps: Deps, incoming: Incoming, replies: list[Reply]) -> list[Reply]:
    """Add the way to the web view under a report: the button on Telegram, a hint elsewhere."""
    if not deps.settings.public_base_url or not replies:
        return replies
    last = replies[-1]
    button = mini_app(deps, incoming)
    if button is not None:
        last.choices = (*last.choices, button)
    elif not incoming.is_group:
        last.text += "\n\nXem chi tiết, lọc và tải Excel trên trang web: gõ /web."
    return replies


@READERS
async def open_web(incoming: Incoming, deps: Deps, session: Session, member: Actor) -> list[Reply]:
    if incoming.is_group:
        return [Reply(IN_GROUP)]
    base = deps.settings.public_base_url
    if not base:
        return [Reply(NO_SERVER)]
    button = mini_app(deps, incoming)
    if button is not None:
        return [Reply("Bấm nút dưới đây để mở trang báo cáo ngay trong Telegram: số liệu, biểu đồ, danh sách "
                      "phiếu, hẹn quay lại, câu hỏi chờ và tải Excel.", (button,))]
    token = auth.create_login(deps, incoming.user_key)
    # In the text, not a button: Telegram refuses buttons to addresses it cannot reach (http, localhost).
    return [Reply("Liên kết mở trang báo cáo (chỉ dùng được một lần, trong 10 phút; đừng chuyển cho người khác). "
                  f"Mở xong, bạn dùng được trên máy đó trong 12 giờ:\n{base}/app/login/{token}")]


COMMANDS = {"/web": open_web}
HELP = [("/web", "mở trang báo cáo trên điện thoại hoặc máy tính (tổ trưởng, cán bộ xã, tỉnh)", "leader")]
