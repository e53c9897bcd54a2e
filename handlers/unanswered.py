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

from rapidfuzz import fuzz, process

from bot import flows
from bot.access import NOT_LEADER, Member, member_for
from bot.core import Deps, Incoming, Reply, Session
from bot.flows import Step, Turn
from bot.scope import for_member
from knowledge.loader import KnowledgeError, add_local_phrasing

from .flowkit import begin

FLOW = "inbox"
SIMILAR = 80  # token_sort_ratio on normalised keys: same words, small typos, any order
MAX_ROWS = 2000  # most recent open questions considered (bounded work: anyone can ask)
MAX_GROUPS = 300  # fuzzy comparisons stop here; later keys only join identical ones
SHOWN = 5  # groups offered at a time (two buttons each)
CANDIDATES = 5
MAX_FEEDBACK = 10
MAX_QUOTE = 120


@dataclass
class Group:
    question: str  # the most recent wording of the most frequent key
    norm: str
    ids: list[int] = field(default_factory=list)
    variants: list[str] = field(default_factory=list)


def _scope(member: Member, column: str = "team_id") -> tuple[str, list]:
    """Questions of the teams the reader may see (bot.scope): one team, a commune's, a province's, all."""
    return for_member(member).teams(column)


def open_questions(deps: Deps, member: Member) -> list[tuple[int, str, str]]:
    where, params = _scope(member)
    return deps.storage.db.execute(
        f"SELECT id, question, norm FROM unanswered WHERE status = 'open' AND {where} "
        f"ORDER BY id DESC LIMIT {MAX_ROWS}", params).fetchall()


def group(rows: list[tuple[int, str, str]]) -> list[Group]:
    """Greedy clustering: identical keys together, then each key joins the first similar group."""
    by_norm: dict[str, Group] = {}
    for rid, question, norm in rows:  # newest first, so the first wording seen is the latest
        g = by_norm.setdefault(norm, Group(question, norm))
        g.ids.append(rid)
    groups: list[Group] = []
    reps: list[str] = []
    for g in sorted(by_norm.values(), key=lambda g: (-len(g.ids), g.norm)):
        hit = process.extractOne(g.norm, reps, scorer=fuzz.token_sort_ratio, score_cutoff=SIMILAR) \
            if reps and len(reps) < MAX_GROUPS else None
        if hit is None:
            groups.append(g)
            reps.append(g.norm)
        else:
            owner = groups[hit[2]]
            owner.ids.extend(g.ids)
            owner.variants.append(g.question)
    groups.sort(key=lambda g: -len(g.ids))
    return groups


def _quote(text: str) -> str:
    return text if len(text) <= MAX_QUOTE else text[:MAX_QUOTE - 1] + "…"


def _leader(deps: Deps, incoming: Incoming) -> Member | None:
    member = member_for(deps, incoming.user_key)
    if member is None or for_member(member).level == "none":
        return None
    return member


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
        return [Reply(NOT_LEADER)]
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
        lines.append(f"{i}. \"{_quote(g['q'])}\" ({len(g['ids'])} lần)")
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


def _close(deps: Deps, member: Member, ids: list[int], status: str, entry_id: str | None = None) -> int:
    where, params = _scope(member)
    marks = ",".join("?" * len(ids))
    with deps.storage.transaction() as conn:
        cur = conn.execute(f"UPDATE unanswered SET status = ?, entry_id = ? WHERE status = 'open' AND {where} "
                           f"AND id IN ({marks})", [status, entry_id, *params, *ids])
        return cur.rowcount


def add_phrasing(deps: Deps, entry_id: str, question: str) -> None:
    """Write the phrasing to the local folder and reload, so it is answered from now on.

    Runs in a worker thread: `reload` swaps the entries and the matcher in two plain assignments,
    so a question answered meanwhile sees the old or the new knowledge base, both valid."""
    local = deps.settings.local_knowledge_dir
    if deps.kb.local_dir is None:
        deps.kb.local_dir = local
    add_local_phrasing(deps.kb.local_dir, entry_id, question)
    deps.kb.reload()


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
    lock = t.deps.extras.setdefault("kb_write_lock", asyncio.Lock())
    try:
        async with lock:  # one writer of _phrasings.yaml at a time; reloading takes a moment
            await asyncio.to_thread(add_phrasing, t.deps, entry.id, current["q"])
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
    guard=lambda t: None if _leader(t.deps, t.incoming) else [Reply(NOT_LEADER)],
    steps={
        "groups": Step(lambda t: _groups_reply(t, t.draft), {"add": add_group, "skip": skip_group}, view=True),
        "pick": Step(_pick_reply, {"entry": pick_entry, "back": _refresh, "add": add_group, "skip": skip_group},
                     view=True),
    },
)


async def inbox(incoming: Incoming, deps: Deps, session: Session) -> list[Reply]:
    return await show_inbox(incoming, deps, session)


async def feedback_summary(incoming: Incoming, deps: Deps, session: Session) -> list[Reply]:
    """/gopy: 👍/👎 per answer, most 👎 first."""
    member = _leader(deps, incoming)
    if member is None:
        return [Reply(NOT_LEADER)]
    where, params = _scope(member)
    rows = deps.storage.db.execute(
        f"SELECT entry_id, sum(helpful = 0), sum(helpful = 1) FROM feedback WHERE {where} "
        f"GROUP BY entry_id HAVING sum(helpful = 0) > 0 ORDER BY 2 DESC, 3, entry_id LIMIT {MAX_FEEDBACK}",
        params).fetchall()
    total = deps.storage.db.execute(
        f"SELECT sum(helpful = 1), sum(helpful = 0) FROM feedback WHERE {where}", params).fetchone()
    if not total[0] and not total[1]:
        return [Reply("Chưa có góp ý 👍/👎 nào cho các câu trả lời.")]
    lines = [f"Góp ý cho câu trả lời: {total[0] or 0} 👍, {total[1] or 0} 👎."]
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
