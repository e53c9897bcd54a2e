""""Hỏi tổ trưởng": a member's question goes to the team's leaders, whose reply comes back to the member.

Ways in: "🙋 Hỏi tổ trưởng" under the bot's "no answer" reply (the question just asked), or typing
"hỏi tổ trưởng <câu hỏi>" / "gặp người thật" (then the bot asks for the question). Each leader gets
the (redacted) question with "✍️ Trả lời" and "📚 Đưa vào /chuatraloi"; the reply is relayed to the
member's own chat on whichever app they use. Someone not in a team is told where to ask instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot import asks, flows, notify
from bot.access import LEADERS, Member, member_for
from bot.core import Choice, Deps, Incoming, Reply, Session
from bot.flows import Step, Turn
from knowledge.normalize import key

from .flowkit import arg_text, begin
from .words import looks_private

LAST = "ask_leader_last"  # the last question the bot could not answer, offered to send
WHERE_ELSE = ("Bạn chưa thuộc tổ công nghệ số nào, nên tôi chưa chuyển câu hỏi cho tổ trưởng được. Bạn hỏi "
              "Trung tâm Phục vụ hành chính công xã/phường, Công an xã/phường (việc VNeID, căn cước), hoặc "
              "tổ công nghệ số ở thôn, khu phố của mình nhé.")
SOLE_LEADER = ("Bạn đang là tổ trưởng duy nhất của tổ dùng trợ lý, nên không có tổ trưởng nào khác để chuyển câu "
               "hỏi. Bạn hỏi cán bộ xã, Trung tâm Phục vụ hành chính công xã/phường hoặc Công an xã/phường nhé.")
NO_LEADER = ("Tổ của bạn hiện chưa có tổ trưởng dùng trợ lý, nên tôi chưa chuyển được câu hỏi. Bạn hỏi trực tiếp "
             "tổ trưởng, hoặc Trung tâm Phục vụ hành chính công xã/phường nhé.")


def offer(incoming: Incoming, deps: Deps, session: Session, question: str) -> list[Choice]:
    """Under the "no answer" reply: a team member may send the question to the leader."""
    if incoming.is_group:
        return []
    member = member_for(deps, incoming.user_key)
    if not isinstance(member, Member) or member.team_id is None:
        return []
    session.state[LAST] = question
    return [Choice("🙋 Hỏi tổ trưởng", "hoi:last")]


async def send(incoming: Incoming, deps: Deps, question: str) -> list[Reply]:
    """Store the question and pass it to every leader of the member's team."""
    member = member_for(deps, incoming.user_key)
    if not isinstance(member, Member) or member.team_id is None:
        return [Reply(WHERE_ELSE)]
    leaders = [lid for lid in asks.leaders_of(deps.storage.db, member.team_id) if lid != member.id]
    if not leaders:
        return [Reply(SOLE_LEADER if member.is_leader else NO_LEADER)]
    qid = asks.create(deps.storage, member.id, member.team_id, question, deps.clock())
    if qid is None:
        return [Reply(f"Bạn đang có {asks.MAX_OPEN} câu hỏi chờ tổ trưởng trả lời. Khi tổ trưởng trả lời bớt, "
                      "bạn gửi tiếp nhé.")]
    stored = asks.get(deps.storage.db, qid)
    assert stored is not None  # inserted just above by this member; questions are never deleted
    text = (f"🙋 {member.display_name} (thành viên tổ) hỏi:\n\"{stored.question}\"\n"
            "Bấm Trả lời để nhắn lại; câu trả lời được chuyển tới thành viên.")
    choices = (Choice("✍️ Trả lời", f"hoi:reply:{qid}"), Choice("📚 Đưa vào /chuatraloi", f"hoi:kb:{qid}"))
    reached = 0
    for leader_id in leaders:
        reached += await notify.tell(deps, leader_id, text, choices)
    if not reached:
        return [Reply("Tôi đã lưu câu hỏi, nhưng lúc này chưa nhắn được cho tổ trưởng. Tổ trưởng sẽ thấy trong "
                      "tin tổng hợp hằng tuần; nếu gấp, bạn gọi trực tiếp tổ trưởng nhé.")]
    return [Reply("Đã gửi câu hỏi cho tổ trưởng. Khi tổ trưởng trả lời, tôi nhắn lại bạn ngay tại đây.")]


# --- asking: "hỏi tổ trưởng" without the question ---------------------------------------------------

@dataclass
class AskDraft:
    pass


def ask_question(t: Turn[AskDraft]) -> list[Reply]:
    return [Reply("Bạn gõ câu hỏi muốn gửi tổ trưởng (đừng ghi số căn cước, mã OTP hay mật khẩu):")]


async def type_question(t: Turn[AskDraft], text: str) -> list[Reply] | None:
    if not any(ch.isalpha() for ch in text):
        return None
    t.end()
    return await send(t.incoming, t.deps, text)


HOI = flows.Flow(name="hoi", draft=AskDraft,
                 steps={"question": Step(ask_question, {}, type_question, free_text=True,
                                         expects="Bạn gõ câu hỏi bằng chữ nhé.")},
                 cancelled=lambda _d: "Đã hủy, câu hỏi chưa được gửi.")


async def command(incoming: Incoming, deps: Deps, session: Session) -> list[Reply]:
    """/hoitotruong [câu hỏi] ("hỏi tổ trưởng", "gặp người thật")."""
    member = member_for(deps, incoming.user_key)
    if not isinstance(member, Member) or member.team_id is None:
        return [Reply(WHERE_ELSE)]
    question = arg_text(incoming.text)
    if any(ch.isalpha() for ch in question):
        return await send(incoming, deps, question)
    return begin(HOI, "question", AskDraft(), incoming, deps, session)


async def pressed(incoming: Incoming, deps: Deps, session: Session) -> list[Reply]:
    """'hoi:last' (member), 'hoi:reply:<id>' and 'hoi:kb:<id>' (leaders)."""
    parts = (incoming.payload or "").split(":")
    if parts[1:2] == ["last"]:
        question = session.state.pop(LAST, None)
        if not question:
            return [Reply("Câu hỏi này đã được gửi rồi. Bạn gõ: hỏi tổ trưởng <câu hỏi> để gửi câu khác.")]
        return await send(incoming, deps, question)
    if len(parts) != 3 or not parts[2].isdigit():
        return [Reply(flows.STALE)]
    question = asks.get(deps.storage.db, int(parts[2]))
    if question is None:
        return [Reply(LEADERS.refusal)]
    refused = LEADERS.check(deps, incoming.user_key, question.team_id)  # the leaders of the asker's team
    if isinstance(refused, list):
        return refused
    if parts[1] == "kb":
        return [Reply(_to_inbox(deps, question))]
    if question.status != "open":
        return [Reply(f"Câu hỏi này đã được trả lời: \"{question.answer}\"")]
    return begin(REPLY, "answer", ReplyDraft(question.id), incoming, deps, session)


def _to_inbox(deps: Deps, question: asks.Question) -> str:
    """Put the question in the leaders' /chuatraloi list (once), where it becomes a phrasing or a new entry."""
    if not looks_private(question.question):
        asks.to_inbox(deps.storage, question, key(question.question), deps.clock())
    return ("Câu hỏi đã có trong /chuatraloi. Ở đó bạn thêm nó làm một cách hỏi của mục có sẵn, "
            "hoặc để đó để viết mục mới cho kho kiến thức của xã.")


# --- a leader's reply --------------------------------------------------------------------------------

@dataclass
class ReplyDraft:
    question_id: int = 0


def ask_answer(t: Turn[ReplyDraft]) -> list[Reply]:
    q = asks.get(t.deps.storage.db, t.draft.question_id)
    return [Reply(f"Bạn gõ câu trả lời cho {q.member if q else 'thành viên'}:\n\"{q.question if q else ''}\"")]


async def type_answer(t: Turn[ReplyDraft], text: str) -> list[Reply] | None:
    if not any(ch.isalnum() for ch in text):
        return None
    q = asks.get(t.deps.storage.db, t.draft.question_id)
    if q is None:
        return t.end(Reply(LEADERS.refusal))
    member = LEADERS.check(t.deps, t.incoming.user_key, q.team_id)
    if isinstance(member, list):
        return t.end(*member)
    answer = asks.answer(t.deps.storage, q.id, member.actor_id, text, t.deps.clock())
    if answer is None:
        return t.end(Reply("Câu hỏi này đã có người trả lời rồi."))
    told = await notify.tell(t.deps, q.member_id, (
        f"💬 Tổ trưởng {member.display_name} trả lời câu hỏi của bạn:\n\"{q.question}\"\n\n{answer}"))
    return t.end(Reply("Đã chuyển câu trả lời cho thành viên." if told else
                       "Đã lưu câu trả lời, nhưng lúc này chưa nhắn được cho thành viên."),
                 Reply("Câu hỏi này có nên thêm vào kho kiến thức không?",
                       (Choice("📚 Đưa vào /chuatraloi", f"hoi:kb:{q.id}"),)))


REPLY = flows.Flow(name="hoi_tl", draft=ReplyDraft,
                   steps={"answer": Step(ask_answer, {}, type_answer, free_text=True,
                                         expects="Bạn gõ câu trả lời bằng chữ nhé.")},
                   cancelled=lambda _d: "Đã hủy, câu trả lời chưa được gửi. Bấm Trả lời lần nữa khi sẵn sàng.")

COMMANDS = {"/hoitotruong": command}
PAYLOADS = {"hoi": pressed}
FLOWS = {"hoi": HOI, "hoi_tl": REPLY}
HELP = [("/hoitotruong <câu hỏi>", "gửi câu hỏi cho tổ trưởng (gõ \"hỏi tổ trưởng\" hoặc \"gặp người thật\")",
         "member")]
