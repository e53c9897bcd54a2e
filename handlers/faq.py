"""Free text -> the knowledge base: an answer, a short "Ý bạn là…?" list, or an honest "not yet"."""

from __future__ import annotations

import datetime as dt

from bot import metrics, teams
from bot.core import Choice, Deps, Incoming, Reply, Session
from bot.safety import without_mask
from knowledge.followup import Context, after
from knowledge.loader import Entry
from knowledge.normalize import key
from knowledge.question import is_call
from knowledge.sources import Source, registry

from . import help
from .asks import offer  # late: a feature module ("Hỏi tổ trưởng" for team members)
from .topics import topic_choices, topic_named, topic_page
from .words import looks_private

FEEDBACK_QUESTION = "Câu trả lời có giúp ích không?"
FULL_LABEL = "📖 Xem đầy đủ"
MAX_RELATED = 3
MAX_SOURCES = {False: 2, True: 3}  # short view, full view: a phone screen holds little
OLD_GUIDANCE = dt.timedelta(days=365)
# Where to ask when an app screen no longer looks like older guidance, by topic.
ASK_WHERE = {
    "vneid": "Công an xã/phường",
    "thanhtoan": "ngân hàng của mình",
    "luadao": "Công an xã/phường",
}
ASK_DEFAULT = "Trung tâm Phục vụ hành chính công xã/phường"
NOT_UNDERSTOOD = ("Xin lỗi, tôi chưa hiểu tin nhắn này. Bạn hãy gõ điều cần hỏi bằng tiếng Việt, có dấu hay không "
                  "dấu đều được, ví dụ \"cach kich hoat vneid\", hoặc chọn một chủ đề:")
GUIDE_SOURCE = "Nguồn: hướng dẫn sử dụng của chính trợ lý này (gõ /trogiup để xem các lệnh bạn dùng được)."


def source_label(source: Source) -> str | None:
    """"<outlet> – <title>" for a user; an old bare string shows only a known web site, never a file name."""
    if not source.legacy:
        return f"{source.outlet} – {source.title}"
    verdict = registry().classify(source.url)
    if verdict.category in {"official", "press", "secondary"}:
        return verdict.name
    return None


def sources_line(entry: Entry, full: bool = False) -> str:
    """Official sources first, then press; two under the short form, three under the full answer.
    A guide to the bot's own commands cites the bot itself."""
    if entry.kind == "guide":
        return GUIDE_SOURCE
    rank = {"official": 0, "press": 1, "secondary": 2}
    ordered = sorted(entry.sources, key=lambda s: rank.get(registry().classify(s.url).category, 3))
    labels = [label for label in dict.fromkeys(source_label(s) for s in ordered) if label]
    return f"Nguồn: {'; '.join(labels[:MAX_SOURCES[full]])}." if labels else ""


def as_of_note(entry: Entry, today: dt.date) -> str:
    """A warning that the steps follow older guidance, when they do."""
    if entry.as_of is None or today - entry.as_of <= OLD_GUIDANCE:
        return ""
    where = ASK_WHERE.get(entry.topic, ASK_DEFAULT)
    # Not "the app's screens may differ": many such entries are rules, amounts or scams, not app steps.
    return (f"Thông tin này theo hướng dẫn năm {entry.as_of.year}, nay có thể đã khác; "
            f"bà con hỏi thêm tổ công nghệ số hoặc {where} cho chắc.")


def render_answer(entry: Entry, today: dt.date | None = None, full: bool = False) -> str:
    """Title, the short form (or the full answer), the older-guidance note, sources and the checked date."""
    today = today or dt.date.today()
    body = entry.answer if full else entry.brief
    footer = [part for part in (as_of_note(entry, today), sources_line(entry, full),
                                f"Thông tin kiểm tra ngày {entry.checked:%d/%m/%Y}.") if part]
    return f"📌 {entry.title}\n\n{body}\n\n" + "\n".join(footer)


def answer_reply(entry: Entry, incoming: Incoming, deps: Deps, full: bool = False) -> Reply:
    """The short form (or the full answer), "Xem đầy đủ", related entries and the 👍/👎 question,
    plus what feature modules add."""
    if entry.topic == "smalltalk" or entry.kind == "smalltalk":
        return Reply(entry.answer)
    # 👍/👎 always first, so on Zalo and the console they are always 1 and 2 ("Xem đầy đủ" is 3 when
    # offered), whatever follows.
    choices = [Choice("👍 Có", f"fb:{entry.id}:1"), Choice("👎 Chưa", f"fb:{entry.id}:0")]
    if entry.has_more and not full:
        choices.append(Choice(FULL_LABEL, f"full:{entry.id}"))
    for module in deps.router.features:
        extra = vars(module).get("answer_choices")  # not getattr: a miss raises, ~2 µs a module per answer
        if extra is not None:
            choices.extend(extra(entry, incoming, deps))
    for rid in entry.related[:MAX_RELATED]:
        related = deps.kb.entries.get(rid)
        if related is not None:
            choices.append(Choice(related.title, f"faq:{related.id}"))
    text = render_answer(entry, deps.clock().date(), full=full)
    return Reply(f"{text}\n\n{FEEDBACK_QUESTION}", tuple(choices))


def team_of(incoming: Incoming, deps: Deps) -> int | None:
    """The asker's team (scopes the leaders' inbox)."""
    return teams.team_of(deps.storage, incoming.user_key)


async def handle(incoming: Incoming, deps: Deps, session: Session) -> list[Reply] | None:
    """Match free text against the knowledge base."""
    text = incoming.text.strip()
    if not text or not any(ch.isalnum() for ch in text):
        return [Reply(
            "Bạn chưa gõ câu hỏi. Hãy gõ điều bạn cần biết, ví dụ \"cách kích hoạt VNeID\", "
            "hoặc chọn một chủ đề:", topic_choices())]
    # "bot ơi", "alo alo", "ê có ai không": the bot is called, not asked. Greeted with what it can do and the topics
    # (the /start greeting), not matched: a bare call has no words the knowledge base could answer.
    query = without_mask(text) or text
    if is_call(query):
        return await help.start(incoming, deps, session)
    # Matching is pure CPU work of well under a millisecond; no need to leave the event loop.
    now = deps.clock()
    topic = Context.from_state(session.state.get("topic"))
    # A hidden ID number or OTP carries no meaning, and "[đã ẩn]" read as words pulls the match away (`query`).
    result = metrics.match(deps, lambda: deps.kb.answer(query, topic, now))  # timed and counted
    if (topic := after(result, now, topic)) is not None:
        session.state["topic"] = topic.to_state()  # read a short follow-up with it for ten minutes
    if result.status == "answer" and result.best is not None:
        entry = result.best.entry
        reply = answer_reply(entry, incoming, deps)
        if result.also:  # the message asked more than one thing: offer the others before related entries
            reply.choices = with_others(reply.choices, [Choice(s.entry.title, f"faq:{s.entry.id}") for s in result.also])
        return [reply]
    if (named := topic_named(text)) is not None and deps.kb.by_topic(named):
        return topic_page(deps, named)  # only a topic's name ("vneid", "lừa đảo"): that topic's list
    if result.status == "choices":
        session.state["asked"] = text  # already redacted; recorded if none of the choices fits
        choices = [Choice(s.entry.title, f"faq:{s.entry.id}") for s in result.choices]
        choices.append(Choice("Không phải các mục trên", "faq:-"))
        return [Reply("Ý bạn là…?", tuple(choices))]
    if looks_private(text):  # a command, a code or a household record: not a question for the inbox
        return [Reply("Tôi chưa hiểu tin nhắn này. Nếu bạn muốn ghi phiếu, gõ: ghi <tên chủ hộ>; <thôn>; <việc>. "
                      "Nếu có mã mời, gõ: tham gia <mã>. Gõ tro giup để xem các lệnh.")]
    if not deps.kb.matcher.says_something(query):  # "asdfgh", "DROP TABLE …", "{{7*7}}": not a question to log
        return [Reply(NOT_UNDERSTOOD, topic_choices())]
    deps.storage.add_unanswered(incoming.channel, incoming.user_key, text, key(text), deps.clock(),
                                team_of(incoming, deps))

    ask = offer(incoming, deps, session, text)
    return [Reply(
        "Xin lỗi, tôi chưa có câu trả lời cho câu hỏi này. Tôi đã ghi lại để tổ công nghệ số bổ sung. "
        + ("Bạn có thể gửi câu hỏi cho tổ trưởng (nút Hỏi tổ trưởng), hoặc hỏi " if ask else "Trong lúc chờ, bạn có thể hỏi ")
        + "Trung tâm Phục vụ hành chính công xã/phường hoặc Công an xã/phường. "
        "Bạn cũng có thể xem các chủ đề tôi biết:", (*ask, *topic_choices()))]


async def open_entry(incoming: Incoming, deps: Deps, session: Session) -> list[Reply]:
    """A pressed "faq:<id>" choice."""
    ident = (incoming.payload or "").partition(":")[2]
    if ident == "-":
        asked = session.state.pop("asked", None)
        ask: list[Choice] = []
        if asked and not looks_private(asked):
            deps.storage.add_unanswered(incoming.channel, incoming.user_key, asked, key(asked), deps.clock(),
                                        team_of(incoming, deps))

            ask = offer(incoming, deps, session, asked)
        return [Reply("Cảm ơn bạn, tôi đã ghi lại câu hỏi để tổ công nghệ số bổ sung. Bạn thử gõ lại theo "
                      "cách khác" + (", gửi cho tổ trưởng" if ask else "") + ", hoặc chọn một chủ đề:",
                      (*ask, *topic_choices()))]
    entry = deps.kb.entries.get(ident)
    if entry is None:
        return [Reply("Mục này không còn nữa. Bạn gõ lại câu hỏi giúp tôi nhé.", topic_choices())]
    if entry.topic != "smalltalk":  # a picked choice becomes the topic; the others are "cái kia"
        offered = [p.partition(":")[2] for _, p in session.state.get("choices") or [] if p.startswith("faq:")]
        alts = tuple(i for i in offered if i not in {ident, "-"})
        session.state["topic"] = Context(entry.id, deps.clock(), alts).to_state()
    return [answer_reply(entry, incoming, deps)]


def with_others(choices: tuple[Choice, ...], others: list[Choice]) -> tuple[Choice, ...]:
    """`others` placed where the related entries start (other choices keep their places)."""
    rest = [c for c in choices if c.payload not in {o.payload for o in others}]
    at = next((i for i, c in enumerate(rest) if c.payload.startswith("faq:")), len(rest))
    return (*rest[:at], *others, *rest[at:])


async def feedback(incoming: Incoming, deps: Deps, session: Session) -> list[Reply]:
    """A pressed 👍/👎: store it once per user and entry."""
    _, ident, value = ((incoming.payload or "") + "::").split(":")[:3]
    if ident not in deps.kb.entries or value not in {"0", "1"}:
        return [Reply("Nút này đã cũ. Cảm ơn bạn!")]
    ident = deps.kb.resolve(ident)  # a button from before a merge counts for the merged entry
    given = session.state.setdefault("feedback", [])
    if ident in given or not deps.storage.add_feedback(incoming.user_key, ident, value == "1", deps.clock(),
                                                       team_of(incoming, deps)):
        return [Reply("Bạn đã góp ý cho câu trả lời này rồi. Cảm ơn bạn!")]
    given.append(ident)
    del given[:-50]
    if value == "1":
        return [Reply("Cảm ơn bạn! Rất vui vì đã giúp được.")]
    return [Reply("Cảm ơn bạn đã góp ý. Tổ công nghệ số sẽ xem lại câu trả lời này. "
                  "Nếu cần gấp, bạn hỏi Trung tâm Phục vụ hành chính công xã/phường hoặc Công an xã/phường nhé.")]


async def open_full(incoming: Incoming, deps: Deps, session: Session) -> list[Reply]:
    """A pressed (or typed-number) "Xem đầy đủ": the whole answer of "full:<id>"."""
    entry = deps.kb.entries.get((incoming.payload or "").partition(":")[2])
    if entry is None:
        return [Reply("Mục này không còn nữa. Bạn gõ lại câu hỏi giúp tôi nhé.", topic_choices())]
    return [answer_reply(entry, incoming, deps, full=True)]


PAYLOADS = {"faq": open_entry, "fb": feedback, "full": open_full}
