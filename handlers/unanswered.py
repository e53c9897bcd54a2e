"""/chuatraloi: questions the bot could not answer, grouped, for leaders to turn into phrasings;
/gopy: which answers people marked 👎.

Leaders see questions asked by their own team's members (unanswered.team_id), commune and province
officials those of every team in their unit (bot.scope); questions from people outside any team
(team_id NULL) and every team's questions are for admins. Adding a
phrasing writes `_phrasings.yaml` in the local knowledge folder and reloads the knowledge base,
so the very next question is answered.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from bot import flows
from bot import inbox as inbox_data
from bot.access import Actor
from bot.core import Deps, Incoming, Reply, Session
from bot.flows import Step, Turn
from bot.inbox import CANDIDATES, MAX_ROWS, add_phrasing, group
from bot.scope import INBOX_READERS
from knowledge.loader import KnowledgeError

from .flowkit import begin

FLOW = "inbox"
SHOWN = 5  # groups offered at a time (two buttons each)
MAX_FEEDBACK = 10
MAX_QUOTE = 120


def open_questions(deps: Deps, member: Actor) -> list[tuple[int, str, str]]:
    return inbox_data.open_questions(deps.storage, member, MAX_ROWS)


def _quote(text: str) -> str:
    return text if len(text) <= MAX_QUOTE else text[:MAX_QUOTE - 1] + "…"


def _leader(deps: Deps, incoming: Incoming) -> Actor | None:
    who = INBOX_READERS.check(deps, incoming.user_key)
    return None if isinstance(who, list) else who


@dataclass
class InboxDraft:
    groups: list[dict] = field(default_factory=list)  # {"q": question, "ids": [unanswered ids]}
    current: int = 0
    note: str = ""  # what the last action did, said above the refreshed list
    total: int = 0  # open questions
    count: int = 0  # groups


async def show_inbox(incoming: Incoming, deps: Deps, session: Session, note: str = "") -> list[Reply]:
    member = _leader(deps, incoming)
    if member is None:
        return [Reply(INBOX_READERS.refusal)]
    groups = await asyncio.to_thread(group, open_questions(deps, member))  # off the event loop
    prefix = f"{note}\n\n" if note else ""
    if not groups:
        session.end_flow()
        return [Reply(prefix + "Không còn câu hỏi nào đang chờ. Khi người dân hỏi điều tôi chưa biết, "
                      "câu hỏi sẽ hiện ở đây.")]
    draft = InboxDraft([{"q": g.question, "ids": g.ids, "v": g.variants[:1]} for g in groups[:SHOWN]], note=note,
                       total=sum(len(g.ids) for g in groups), count=len(groups))
    session.end_flow()
    return begin(INBOX, "groups", draft, incoming, deps, session, enter=lambda t: _groups_reply(t, draft))


def _groups_reply(t: Turn[InboxDraft], draft: InboxDraft) -> list[Reply]:
    total, count = draft.total, draft.count
    prefix = f"{draft.note}\n\n" if draft.note else ""
    lines = [f"{prefix}Câu hỏi chưa có câu trả lời: {total} câu, {count} nhóm "
             "(đã ẩn thông tin cá nhân). Nhóm hỏi nhiều nhất trước:"]
    for i, g in enumerate(draft.groups, 1):
        lines.append(f"Nhóm {i}: \"{_quote(g['q'])}\" ({len(g['ids'])} lần)")  # not "1.": the choices are numbered
        if g.get("v"):
            lines.append(f"   cũng hỏi: \"{_quote(g['v'][0])}\"")
    if count > SHOWN:
        lines.append(f"Còn {count - SHOWN} nhóm nữa, xử lý xong các nhóm trên sẽ hiện tiếp.")
    choices = []
    for i in range(1, len(draft.groups) + 1):
        choices.append(t.choice(f"Nhóm {i}: thêm làm cách hỏi của mục…", f"add:{i - 1}"))
        choices.append(t.choice(f"Nhóm {i}: bỏ qua", f"skip:{i - 1}"))
    return [Reply("\n".join(lines), tuple(choices))]


def _pick_reply(t: Turn[InboxDraft]) -> list[Reply]:
    question = t.draft.groups[t.draft.current]["q"]
    ranked = t.deps.kb.matcher.rank(question)[:CANDIDATES]
    choices = [t.choice(s.entry.title, f"entry:{s.entry.id}") for s in ranked]
    choices.append(t.choice("Quay lại danh sách", "back"))
    if not ranked:
        return [Reply(f"Không có mục nào gần với \"{_quote(question)}\". Bạn có thể viết mục mới trong thư mục "
                      "kiến thức của xã, hoặc bỏ qua câu này.", tuple(choices))]
    return [Reply(f"Thêm \"{_quote(question)}\" làm cách hỏi của mục nào?", tuple(choices))]


def _close(deps: Deps, member: Actor, ids: list[int], status: str, entry_id: str | None = None) -> int:
    return inbox_data.close(deps.storage, member, ids, status, deps.clock(), entry_id)


def _index(t: Turn[InboxDraft], arg: str) -> int | None:
    return int(arg) if arg.isdigit() and int(arg) < len(t.draft.groups) else None


async def skip_group(t: Turn[InboxDraft], arg: str) -> list[Reply] | None:
    index, member = _index(t, arg), _leader(t.deps, t.incoming)
    if index is None or member is None:
        return None
    n = _close(t.deps, member, t.draft.groups[index]["ids"], "ignored")
    return await show_inbox(t.incoming, t.deps, t.session, f"Đã bỏ qua {n} câu hỏi.")


def add_group(t: Turn[InboxDraft], arg: str) -> list[Reply] | None:
    index = _index(t, arg)
    if index is None:
        return None
    t.draft.current = index
    return t.go("pick")


async def pick_entry(t: Turn[InboxDraft], arg: str) -> list[Reply]:
    entry, member = t.deps.kb.entries.get(arg), _leader(t.deps, t.incoming)
    current = t.draft.groups[t.draft.current]
    if entry is None or member is None:
        return [Reply("Mục này không còn nữa. Bạn chọn mục khác nhé."), *_pick_reply(t)]
    try:
        async with t.deps.services.kb_write_lock:  # one writer of _phrasings.yaml at a time; reloading takes a moment
            await asyncio.to_thread(add_phrasing, t.deps.kb, t.deps.settings.local_knowledge_dir, entry.id,
                                        current["q"])
    except (KnowledgeError, OSError) as exc:
        return [Reply(f"Chưa thêm được vào kho kiến thức của xã: {exc}. Bạn báo quản trị viên giúp tôi nhé.")]
    n = _close(t.deps, member, current["ids"], "added", entry.id)
    return await show_inbox(t.incoming, t.deps, t.session,
                            f"Đã thêm \"{_quote(current['q'])}\" làm cách hỏi của mục \"{entry.title}\". "
                            f"Từ giờ tôi trả lời được câu này ({n} câu hỏi đã xử lý).")


async def _refresh(t: Turn[InboxDraft], _arg: str = "") -> list[Reply]:
    return await show_inbox(t.incoming, t.deps, t.session)


INBOX = flows.Flow(
    name=FLOW, draft=InboxDraft,
    guard=INBOX_READERS.guard(),
    steps={
        "groups": Step(lambda t: _groups_reply(t, t.draft), {"add": add_group, "skip": skip_group}, view=True),
        "pick": Step(_pick_reply, {"entry": pick_entry, "back": _refresh, "add": add_group, "skip": skip_group},
                     view=True),
    },
)


async def inbox(incoming: Incoming, deps: Deps, session: Session) -> list[Reply]:
    return await show_inbox(incoming, deps, session)


@INBOX_READERS
async def feedback_summary(incoming: Incoming, deps: Deps, session: Session, member: Actor) -> list[Reply]:
    """/gopy: 👍/👎 per answer, most 👎 first."""
    rows = inbox_data.most_disliked(deps.storage, member, MAX_FEEDBACK)
    good, bad = inbox_data.feedback_totals(deps.storage, member)
    if not good and not bad:
        return [Reply("Chưa có góp ý 👍/👎 nào cho các câu trả lời.")]
    lines = [f"Góp ý cho câu trả lời: {good} 👍, {bad} 👎."]
    if rows:
        lines.append("Câu trả lời bị chấm 👎 nhiều nhất (nên xem lại):")
        for entry_id, bad, good in rows:
            entry = deps.kb.entries.get(entry_id)
            lines.append(f"- {entry.title if entry else entry_id}: {bad} 👎, {good} 👍")
    else:
        lines.append("Chưa câu trả lời nào bị chấm 👎.")
    return [Reply("\n".join(lines))]


COMMANDS = {"/chuatraloi": inbox, "/gopy": feedback_summary}
FLOWS = {FLOW: INBOX}
HELP = [
    ("/chuatraloi", "câu hỏi tôi chưa trả lời được, để bổ sung", "leader"),
    ("/gopy", "câu trả lời bị chấm 👎", "leader"),
]
