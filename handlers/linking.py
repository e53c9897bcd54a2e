"""/lienket: one person, two apps. A member gets a short code and sends it from the other app,
which links that identity to the same member, so logs, roles and reports are shared."""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass

from bot import flows, links, teams
from bot.access import Member, member_for
from bot.clock import iso
from bot.core import Deps, Incoming, Reply, Session
from bot.flows import Step, Turn

from .flowkit import begin

log = logging.getLogger(__name__)

LIFETIME = links.LIFETIME
MAX_TRIES = 5  # wrong codes per identity within LIFETIME, against guessing
APPS = {"telegram": "Telegram", "zalo": "Zalo", "console": "bản chạy trên máy"}


async def link(incoming: Incoming, deps: Deps, session: Session) -> list[Reply]:
    """`/lienket` gives a code (or, to someone not yet a member here, asks for one); `/lienket <MÃ>` uses one."""
    words = incoming.text.split()
    if len(words) > 1:
        return await _use_code(words[-1], incoming, deps, session)
    member = member_for(deps, incoming.user_key)
    if not isinstance(member, Member):  # an admin without a member row has nothing to link
        return begin(LIENKET, "code", LinkDraft(), incoming, deps, session, *_give_code(incoming, deps))
    return _give_code(incoming, deps)


@dataclass
class LinkDraft:
    tries: int = 0


async def _typed_code(t: Turn[LinkDraft], text: str) -> list[Reply] | None:
    code = text.strip().split()[-1] if text.strip() else ""
    if not re.fullmatch(r"[A-Za-z]{6}", code):
        return None
    replies = await _use_code(code, t.incoming, t.deps, t.session)
    linked = member_for(t.deps, t.incoming.user_key)
    t.draft.tries += 1
    if (linked is not None and linked.id) or t.draft.tries >= MAX_TRIES:
        return t.end(*replies)
    return [*replies, *t.ask()]


LIENKET = flows.Flow(
    name="lienket", draft=LinkDraft,
    steps={"code": Step(lambda t: [Reply("Nếu đã có mã liên kết từ ứng dụng kia, bạn gõ mã 6 chữ cái vào đây "
                                         "(gõ /huy nếu chưa có).")],
                        text=_typed_code, expects="Mã liên kết gồm 6 chữ cái, ví dụ: KMPQRT.")},
    cancelled=lambda _d: "Đã dừng liên kết. Khi có mã, bạn gõ /lienket <mã> nhé.",
)


def _give_code(incoming: Incoming, deps: Deps) -> list[Reply]:
    member = member_for(deps, incoming.user_key)
    if not isinstance(member, Member):  # an admin without a member row has nothing to link
        return [Reply(
            "Bạn chưa là thành viên tổ trên ứng dụng này nên chưa lấy được mã liên kết. "
            "Nếu bạn đã tham gia tổ trên ứng dụng khác, hãy gõ /lienket ở ứng dụng đó để lấy mã, "
            "rồi gửi /lienket <mã> tại đây. Nếu chưa tham gia tổ, hãy nhờ tổ trưởng gửi mã mời."
        )]
    code = links.issue_code(deps.storage, member.id, incoming.user_key, deps.clock())
    return [Reply(
        f"Mã liên kết của bạn: {code}\n"
        f"Trong 10 phút tới, mở ứng dụng còn lại (Telegram hoặc Zalo), tìm bot của tổ và gửi:\n"
        f"/lienket {code}\n"
        "Sau đó cả hai ứng dụng dùng chung một tài khoản thành viên. Đừng đưa mã này cho người khác."
    )]


def _recent_failures(session: Session, now: dt.datetime) -> list[str]:
    cutoff = iso(now - LIFETIME)
    tries = [t for t in session.state.get("link_failures", []) if t > cutoff]
    session.state["link_failures"] = tries
    return tries


async def _use_code(raw: str, incoming: Incoming, deps: Deps, session: Session) -> list[Reply]:
    now = deps.clock()
    tries = _recent_failures(session, now)
    if len(tries) >= MAX_TRIES:
        return [Reply("Bạn đã nhập sai mã nhiều lần. Hãy đợi 10 phút rồi thử lại với mã mới nhé.")]
    code = raw.strip().upper()
    found = links.find_code(deps.storage, code)
    if found is None or found.expired(now):
        tries.append(iso(now))
        if found is not None:
            links.drop_code(deps.storage, code, now)
            return [Reply("Mã này đã hết hạn (mã chỉ dùng được trong 10 phút). "
                          "Bạn gõ /lienket ở ứng dụng đã tham gia tổ để lấy mã mới nhé.")]
        return [Reply("Mã liên kết không đúng. Bạn kiểm tra lại 6 chữ cái trong mã, "
                      "hoặc gõ /lienket ở ứng dụng đã tham gia tổ để lấy mã mới.")]
    member_id, from_key = found.member_id, found.from_key
    if from_key == incoming.user_key:
        return [Reply("Mã này được tạo từ chính tài khoản này. Bạn hãy gửi mã từ ứng dụng còn lại nhé.")]
    refusal = teams.link_refusal(deps.storage, member_id, from_key, incoming.channel)
    if refusal is not None:
        tries.append(iso(now))
        return [Reply(LINK_REFUSALS[refusal].format(there=APPS.get(incoming.channel, incoming.channel)))]
    name = links.active_name(deps.storage, member_id)
    if name is None:
        return [Reply("Tài khoản thành viên tạo mã này không còn hoạt động nên không liên kết được.")]
    current = links.member_of(deps.storage, incoming.user_key)
    if current is not None and current != member_id:
        return [Reply(
            "Tài khoản này đã gắn với một thành viên khác nên tôi không liên kết được. "
            "Nếu có nhầm lẫn, bạn nhờ tổ trưởng hoặc quản trị viên kiểm tra giúp."
        )]
    links.use_code(deps.storage, code, found, incoming.user_key, incoming.chat_id, now, add_identity=current is None)
    session.state.pop("link_failures", None)
    if current is not None:
        return [Reply("Tài khoản này đã được liên kết từ trước rồi. Bạn cứ dùng bình thường nhé.")]
    log.info("Identity linked to member %s", member_id)
    here = APPS.get(incoming.channel, incoming.channel)
    there = APPS.get(from_key.partition(":")[0], "ứng dụng kia")
    await _tell_other_app(deps, from_key, f"Tài khoản {here} vừa được liên kết với tài khoản thành viên của bạn. "
                                         "Nếu không phải bạn làm, hãy báo ngay cho tổ trưởng.")
    return [Reply(
        f"Đã liên kết xong, {name}! Từ giờ {here} và {there} dùng chung một tài khoản thành viên: "
        "việc ghi nhận hỗ trợ, vai trò và báo cáo đều như nhau trên cả hai ứng dụng."
    )]


async def _tell_other_app(deps: Deps, key: str, text: str) -> None:
    """Let the first identity know, in case the code was used by someone else."""
    channel = key.partition(":")[0]
    sender = deps.services.senders.get(channel)
    chat_id = links.chat_of(deps.storage, key)
    if sender is None or chat_id is None:
        return
    try:
        await sender(chat_id, [Reply(text)])
    except Exception:  # the link is made; a missed notice must not undo it
        log.warning("Could not notify the other app about a new link")


LINK_REFUSALS = {
    "same_app": "Mã liên kết chỉ dùng để nối hai ứng dụng khác nhau: mã tạo trên {there} thì phải gửi từ "
                "ứng dụng còn lại. Bạn mở ứng dụng kia và gửi mã ở đó nhé.",
    "issuer_gone": "Mã liên kết không đúng. Bạn gõ /lienket ở ứng dụng đã tham gia tổ để lấy mã mới.",
}


async def unlink(incoming: Incoming, deps: Deps, session: Session) -> list[Reply]:
    """/huylienket: undo /lienket. From the app that joined the team it removes the linked apps;
    from a linked app it removes that app. The app that joined always stays."""
    removed = teams.unlink(deps.storage, incoming.user_key, deps.clock())
    if removed is None:
        return [Reply("Tài khoản này chưa là thành viên tổ nào nên không có liên kết để gỡ.")]
    if not removed:
        return [Reply("Tài khoản thành viên của bạn chưa liên kết với ứng dụng nào khác.")]
    names = ", ".join(APPS.get(key.partition(":")[0], key.partition(":")[0]) for key in removed)
    if removed == [incoming.user_key]:
        return [Reply(f"Đã gỡ liên kết: tài khoản {names} này không còn dùng chung tài khoản thành viên nữa. "
                      "Muốn liên kết lại, bạn gõ /lienket ở ứng dụng đã tham gia tổ.")]
    return [Reply(f"Đã gỡ liên kết với: {names}. Từ giờ chỉ ứng dụng này dùng tài khoản thành viên của bạn. "
                  "Nếu liên kết đó không phải do bạn làm, hãy báo tổ trưởng.")]


COMMANDS = {"/lienket": link, "/huylienket": unlink}
FLOWS = {"lienket": LIENKET}
HELP = [("/lienket", "dùng chung tài khoản thành viên trên cả Telegram và Zalo", "all"),
        ("/huylienket", "gỡ liên kết giữa hai ứng dụng", "member")]
