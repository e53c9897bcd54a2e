"""/duyet: a leader reviews the team's new records, a screen at a time, newest first.

One tap approves a record, one approves every record shown, and "Cần sửa" asks for a note that goes
to the member, who fixes the record with /sua (it then comes back as new). The flow is a view: any
free text leaves it. Admins review any team: /duyet <tên tổ>.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot import flows, notify, reports, review, teams
from bot.access import LEADERS, NO_TEAMS, Actor
from bot.core import Deps, Incoming, Reply, Session
from bot.flows import Step, Turn
from knowledge.normalize import fold

from .flowkit import arg_text, begin
from .words import REVIEW_ALL


@dataclass
class ReviewDraft:
    team_id: int = 0
    before: int | None = None  # the screen shows records with ids below this (None: the newest)
    shown: list[int] = field(default_factory=list)
    owners: dict[str, int] = field(default_factory=dict)  # record id -> member id, for the "cần sửa" note
    fixing: int | None = None
    said: str = ""  # what the last action did, said above the next screen


def _leader(t: Turn[ReviewDraft]) -> Actor | None:
    """The leader (or admin) reviewing the draft's team, asked again at each action."""
    who = LEADERS.check(t.deps, t.incoming.user_key, t.draft.team_id)
    return None if isinstance(who, list) else who


def ask_list(t: Turn[ReviewDraft]) -> list[Reply]:
    d = t.draft
    page = review.pending(t.deps.storage.db, d.team_id, d.before, review.PAGE + 1)
    more, page = len(page) > review.PAGE, page[:review.PAGE]
    d.shown = [p.id for p in page]
    d.owners = {str(p.id): p.member_id for p in page}
    counts = review.counts(t.deps.storage.db, d.team_id)
    head = f"{d.said}\n\n" if d.said else ""
    d.said = ""
    team = teams.get_team(t.deps.storage, d.team_id)
    called = "tổ" if team is None else team.name if fold(team.name).startswith("to ") else f"tổ {team.name}"
    status = (f"Phiếu của {called}: {counts.get('new', 0)} mới, "
              f"{counts.get('approved', 0)} đã duyệt, {counts.get('fix', 0)} cần sửa.")
    if not page:
        return [Reply(f"{head}{status}\nKhông còn phiếu mới nào chờ duyệt" + (" ở các trang sau." if d.before else "."))]
    lines = [f"{head}{status}\nPhiếu mới chờ duyệt (mới nhất trước):"]
    lines += [f"- {review.describe(p)}" for p in page]
    choices = []
    for p in page:
        choices += [t.choice(f"✅ Duyệt số {p.id}", f"ok:{p.id}"), t.choice(f"✏️ Cần sửa số {p.id}", f"fix:{p.id}")]
    if len(page) > 1:
        choices.append(t.choice(f"✅ Duyệt cả {len(page)} phiếu trên", "all"))
    if more:
        choices.append(t.choice("➡️ Xem tiếp", "next"))
    return [Reply("\n".join(lines), tuple(choices))]


def ask_note(t: Turn[ReviewDraft]) -> list[Reply]:
    return [Reply(f"Phiếu số {t.draft.fixing} cần sửa gì? Bạn gõ ngắn gọn để nhắn thành viên, "
                  "ví dụ: thiếu việc mở tài khoản ngân hàng.", (t.choice("↩️ Quay lại danh sách", "back"),))]


def _approve(t: Turn[ReviewDraft], ids: list[int]) -> list[Reply]:
    member = _leader(t)
    if member is None:
        return t.end(Reply(LEADERS.refusal))
    done = review.approve(t.deps.storage, t.draft.team_id, ids, member.actor_id, t.deps.clock())
    shown = ", ".join(str(i) for i in done)
    t.draft.said = f"Đã duyệt phiếu số {shown}." if done else "Các phiếu này đã được xử lý rồi."
    return t.go("list")


def approve_one(t: Turn[ReviewDraft], arg: str) -> list[Reply] | None:
    return _approve(t, [int(arg)]) if arg.isdigit() and int(arg) in t.draft.shown else None


def approve_all(t: Turn[ReviewDraft], _arg: str) -> list[Reply]:
    return _approve(t, list(t.draft.shown))


def next_page(t: Turn[ReviewDraft], _arg: str) -> list[Reply]:
    if t.draft.shown:
        t.draft.before = min(t.draft.shown)
    return t.go("list")


def fix(t: Turn[ReviewDraft], arg: str) -> list[Reply] | None:
    if not arg.isdigit() or int(arg) not in t.draft.shown:
        return None
    t.draft.fixing = int(arg)
    return t.go("note")


async def type_note(t: Turn[ReviewDraft], text: str) -> list[Reply] | None:
    member, rid = _leader(t), t.draft.fixing or 0
    if member is None:
        return t.end(Reply(LEADERS.refusal))
    note = review.reason(text)
    if note is None:
        return None
    if not review.send_back(t.deps.storage, t.draft.team_id, rid, note, member.actor_id, t.deps.clock()):
        t.draft.said = f"Phiếu số {rid} đã được xử lý hoặc đã bị xóa."
        return t.go("list")
    owner = t.draft.owners.get(str(rid))
    told = owner is not None and await notify.tell(t.deps, owner, review.fix_request(member.display_name, rid, note))
    t.draft.said = review.fix_marked(rid, told)
    t.draft.fixing = None
    return t.go("list")


def ask_team(t: Turn[ReviewDraft]) -> list[Reply]:
    return [Reply("Duyệt phiếu của tổ nào?", tuple(t.choice(f"{x.name} ({x.commune})", f"t:{x.id}")
                                                  for x in teams.list_teams(t.deps.storage)))]


def pick_team(t: Turn[ReviewDraft], arg: str) -> list[Reply] | None:
    if not arg.isdigit() or teams.get_team(t.deps.storage, int(arg)) is None:
        return None
    t.draft.team_id = int(arg)
    return t.go("list")


DUYET = flows.Flow(
    name="duyet", draft=ReviewDraft,
    guard=LEADERS.guard(team=lambda d: d.team_id or None),
    steps={
        "team": Step(ask_team, {"t": pick_team}, view=True),
        "list": Step(ask_list, {"ok": approve_one, "fix": fix, "all": approve_all, "next": next_page}, view=True),
        "note": Step(ask_note, {"back": lambda t, _a: t.go("list")}, type_note, free_text=True,
                     expects="Bạn gõ điều cần sửa (vài chữ), ví dụ: thiếu việc mở tài khoản ngân hàng."),
    },
    cancelled=lambda _d: "Đã dừng duyệt phiếu. Gõ /duyet khi cần duyệt tiếp.",
)


@LEADERS
async def start(incoming: Incoming, deps: Deps, session: Session, member: Actor) -> list[Reply]:
    """/duyet [tên tổ]: the team's unreviewed records (admins name the team)."""
    name = arg_text(incoming.text)
    team_id = member.team_id
    if member.is_admin and (name or team_id is None):
        found = reports.find_team(deps.storage.db, name) if name else \
            [(t.id, t.name) for t in teams.list_teams(deps.storage)]
        if len(found) != 1:  # pick the team, as /baocao, /thanhvien and /moi let an admin do
            if not teams.list_teams(deps.storage):
                return [Reply(NO_TEAMS)]
            missing = [Reply(f"Không tìm thấy tổ \"{name[:40]}\".")] if name and not found else []
            return begin(DUYET, "team", ReviewDraft(), incoming, deps, session, *missing)
        team_id = found[0][0]
    if team_id is None:
        return [Reply(LEADERS.refusal)]
    own = teams.get_team(deps.storage, team_id)
    draft = ReviewDraft(team_id)
    said = " ".join(fold(name).replace("#", " ").split())
    number = re.fullmatch(r"(?:phieu |so )?(\d{1,9})", said)
    if number and not member.is_admin:  # "/duyet 12", "duyệt phiếu 12": that record, if it is new in the team
        rid = int(number.group(1))
        done = review.approve(deps.storage, team_id, [rid], member.actor_id, deps.clock())
        draft.said = (f"Đã duyệt phiếu số {rid}." if done else
                      f"Phiếu số {rid} không có trong các phiếu mới của tổ (có thể đã duyệt, đang cần sửa, đã xóa, "
                      "hoặc là phiếu của tổ khác).")
    elif said in ALL_WORDS and not member.is_admin:  # "duyệt hết": never approved unseen; the page's button does it
        draft.said = "Bạn xem các phiếu dưới đây rồi bấm \"Duyệt cả … phiếu trên\" để duyệt hết trang này."
    elif name and not member.is_admin and own is not None and fold(name) != fold(own.name):
        # "/duyet Tổ CNS Xuân" from another team's leader: say so, rather than show their own team's counts as if
        # they were the other team's.
        draft.said = f"Tổ trưởng chỉ duyệt phiếu của tổ mình, {own.name}."
    return begin(DUYET, "list", draft, incoming, deps, session)


# What follows "duyệt" to mean every record: the page is shown with its "Duyệt cả … phiếu trên" (never approved
# unseen). "all" and "tất" only after a typed /duyet: as words ("duyệt all") they are no command (words.py), as
# before; adding them there would turn that text's FAQ reply into the review page.
ALL_WORDS = REVIEW_ALL | {"all", "tat"}

COMMANDS = {"/duyet": start}
FLOWS = {"duyet": DUYET}
HELP = [("/duyet", "duyệt phiếu mới của tổ: duyệt, duyệt cả trang, hoặc trả lại \"cần sửa\" kèm lời nhắn", "leader")]
