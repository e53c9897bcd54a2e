"""Declared conversations: a flow is a table of steps over a typed draft; one engine runs them all.

The model is python-telegram-bot's `ConversationHandler` (a state table of small callbacks), kept
channel-neutral: a step asks its question with fresh choices (`ask`), reacts to pressed values
(`choices`, by key) and to typed text (`text`). A step function returns replies, or None when it did
not understand, and the engine says what it expected. The engine alone owns:

- the nonce in every choice, so a stale or repeated press is caught (`Stale`), never acted on twice;
- the re-prompt after a sticker, a photo or text it did not understand, with an example;
- views (lists, pickers), which any free text leaves, so it is answered as a question;
- data-entry steps, where a clear question is answered and "Tiếp tục" resumes the exact step (in a
  free-text step, such as a note, only when the knowledge base has an answer: otherwise it is the note);
- cancel (`/huy`, or a cancel choice that asks once more), one flow per chat with a generic
  "your draft was dropped" notice, and drafts abandoned for longer than `TIMEOUT`;
- save-once is the features' job (a draft id stored UNIQUE with the saved row, as /ghi does).

Drafts are dataclasses stored as JSON in the session; unknown keys from older versions are ignored.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import inspect
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from knowledge.normalize import fold

from .core import Choice, Deps, Incoming, Reply, Session, no_such_choice

D = TypeVar("D")
Out = list[Reply] | None
StepFn = Callable[..., Out | Awaitable[Out]]

TIMEOUT = dt.timedelta(hours=12)  # a draft untouched this long is dropped (and the member told)
STALE = "Nút này đã cũ hoặc đã được bấm rồi. Bạn xem tin nhắn mới nhất, hoặc gõ /trogiup để xem cách dùng nhé."
GONE = "Thao tác đang làm dở không còn dùng được nữa. Bạn bắt đầu lại giúp tôi nhé."
NOT_UNDERSTOOD = "Tôi chưa hiểu câu trả lời này. Bạn chọn một mục dưới đây, hoặc gõ /huy để dừng."
WHAT = {
    "photo": "ảnh", "sticker": "nhãn dán (sticker)", "voice": "tin nhắn thoại", "location": "vị trí",
    "contact": "danh bạ", "document": "tệp", "video": "video",
}
RESUME, CANCEL, CANCEL_SURE = "resume", "cancel", "cancel!"

# A message "clearly a question": ends with "?", or starts or ends with a Vietnamese question word.
_QUESTION_START = re.compile(r"^(lam (sao|the nao)|cach|tai sao|vi sao|sao|the nao|co phai|ai|bao gio|khi nao|"
                             r"o dau|hoi|xin hoi|cho (toi|em|minh) hoi|muon hoi|huong dan|giup (toi|em|minh))\b")
_QUESTION_END = re.compile(r"\b(khong|ko|k|chua|gi|nao|dau|sao|the nao|bao nhieu|duoc khong|ko dc|khong duoc|"
                           r"khong dc)$")


def said_words(text: str) -> str:
    """What was typed as bare folded words, for matching short answers: "Đúng rồi!" -> "dung roi"."""
    return " ".join(re.findall(r"\w+", fold(text)))


def looks_like_question(text: str) -> bool:
    """True for "lam sao kich hoat vneid", "quen mat khau thi sao?", not for "Nguyễn Văn An"."""
    if text.rstrip().endswith("?"):
        return True
    folded = said_words(text)
    return len(folded.split()) >= 2 and bool(_QUESTION_START.search(folded) or _QUESTION_END.search(folded))


@dataclass(frozen=True)
class Step(Generic[D]):
    """One state: its question, what pressed values and typed text do there, and what it expects."""

    ask: Callable[[Turn[D]], list[Reply]]
    choices: dict[str, StepFn] = field(default_factory=dict)  # value key -> fn(turn, arg)
    text: StepFn | None = None  # fn(turn, text)
    view: bool = False  # a list or a picker: free text leaves it and is handled normally
    free_text: bool = False  # any words are a valid answer (a name, a note): a question only if the KB answers it
    expects: str = ""  # said when input is not understood; name the expected form and an example


@dataclass(frozen=True)
class Flow(Generic[D]):
    name: str
    draft: type[D]
    steps: dict[str, Step[D]]
    guard: Callable[[Turn[D]], list[Reply] | None] | None = None  # refusal ends the flow
    cancelled: Callable[[D], str] = lambda _d: "Đã hủy thao tác đang làm. Bạn cần gì cứ hỏi tiếp nhé."
    dropped: Callable[[D], str | None] = lambda _d: None  # said when another flow replaces this one
    resume_label: str = "▶️ Tiếp tục"
    hide_in_answers: tuple[str, ...] = ()  # payload prefixes not offered under an answer given mid-flow
    cancel_question: str = "Bạn chắc muốn hủy không?"


@dataclass
class Turn(Generic[D]):
    """What a step function gets: the message, the deps, the typed draft, and ways to move on."""

    flow: Flow[D]
    incoming: Incoming
    deps: Deps
    session: Session
    draft: D
    step: str
    ended: bool = False

    def choice(self, label: str, value: str) -> Choice:
        return self.session.flow_choice(label, value)

    def ask(self) -> list[Reply]:
        return self.flow.steps[self.step].ask(self)

    def go(self, step: str, *before: Reply) -> list[Reply]:
        """Move to `step` (older choices become stale) and ask its question."""
        self.step = step
        self.session.advance(step)
        self._store()
        return [*before, *self.ask()]

    def end(self, *replies: Reply) -> list[Reply]:
        self.session.end_flow()
        self.ended = True
        return list(replies)

    def _store(self) -> None:
        if not self.ended and self.session.flow is not None:
            self.session.flow["data"] = dump(self.draft)


def dump(draft: Any) -> dict[str, Any]:
    """The draft's fields as they go into the session JSON (shallow: drafts hold plain values and lists)."""
    return {f.name: getattr(draft, f.name) for f in dataclasses.fields(draft)}


def load_draft(flow: Flow[D], data: dict[str, Any]) -> D:
    names = {f.name for f in dataclasses.fields(flow.draft)}  # type: ignore[arg-type]
    return flow.draft(**{k: v for k, v in data.items() if k in names})


def begin(flow: Flow[D], step: str, draft: D, incoming: Incoming, deps: Deps, session: Session,
          registry: dict[str, Flow[Any]], *before: Reply,
          enter: Callable[[Turn[D]], list[Reply]] | None = None) -> list[Reply]:
    """Start `flow` at `step` (or let `enter` move on from there), replacing any other flow of this chat."""
    dropped = drop_notice(session, registry)
    session.start_flow(flow.name, step, dump(draft))
    touch(session, deps)
    turn = Turn(flow, incoming, deps, session, draft, step)
    out = enter(turn) if enter else turn.ask()
    turn._store()
    return [*dropped, *before, *out]


def current(session: Session, registry: dict[str, Flow[Any]], incoming: Incoming,
            deps: Deps) -> Turn[Any] | None:
    state = session.flow
    flow = registry.get(state["name"]) if state else None
    if state is None or flow is None or state["step"] not in flow.steps:
        return None
    return Turn(flow, incoming, deps, session, load_draft(flow, state.get("data") or {}), state["step"])


def drop_notice(session: Session, registry: dict[str, Flow[Any]]) -> list[Reply]:
    state = session.flow
    flow = registry.get(state["name"]) if state else None
    if state is None or flow is None:
        return []
    text = flow.dropped(load_draft(flow, state.get("data") or {}))
    return [Reply(text)] if text else []


def touch(session: Session, deps: Deps) -> None:
    if session.flow is not None:
        session.flow["at"] = deps.clock().isoformat(timespec="seconds")


def expire(session: Session, deps: Deps, registry: dict[str, Flow[Any]]) -> list[Reply]:
    """Drop a flow untouched for longer than TIMEOUT; say what was dropped."""
    state = session.flow
    if state is None or "at" not in state:
        return []
    try:
        idle = deps.clock() - dt.datetime.fromisoformat(state["at"])
    except (TypeError, ValueError):
        idle = TIMEOUT + TIMEOUT
    if idle <= TIMEOUT:
        return []
    notice = drop_notice(session, registry)
    session.end_flow()
    hours = int(TIMEOUT.total_seconds() // 3600)
    said = notice[0].text if notice else "Việc đang làm dở đã dừng."
    return [Reply(f"Đã quá {hours} giờ không thấy bạn làm tiếp, nên tôi dừng việc đang làm dở. {said}")]


def cancel(session: Session, deps: Deps, registry: dict[str, Flow[Any]]) -> str | None:
    """`/huy`: end the flow; the flow's own words, or None when nothing was running."""
    state = session.flow
    if state is None:
        return None
    flow = registry.get(state["name"])
    session.end_flow()
    return flow.cancelled(load_draft(flow, state.get("data") or {})) if flow else GONE


async def _call(fn: StepFn, *args: Any) -> Out:
    out = fn(*args)
    return await out if inspect.isawaitable(out) else out


def _split_value(payload: str) -> tuple[str, str]:
    """'f:<nonce>:<value>' -> (nonce, value)."""
    parts = payload.split(":", 2)
    return (parts[1], parts[2]) if len(parts) == 3 else ("", "")


def _lookup(step: Step[Any], value: str) -> tuple[StepFn | None, str]:
    key, _, arg = value.partition(":")
    return step.choices.get(key), arg


Answer = Callable[[Incoming, Deps, Session], Awaitable[list[Reply] | None]]


async def run(incoming: Incoming, deps: Deps, session: Session, registry: dict[str, Flow[Any]],
              answer: Answer) -> list[Reply] | None:
    """Give the message to the active flow; None when there is none or a view was left."""
    if session.flow is None:
        return [Reply(STALE)] if (incoming.payload or "").startswith("f:") else None
    turn = current(session, registry, incoming, deps)
    if turn is None:
        session.end_flow()
        return [Reply(GONE)]
    refusal = turn.flow.guard(turn) if turn.flow.guard else None
    if refusal is not None:
        return turn.end(*refusal)
    touch(session, deps)
    out: list[Reply] | None
    if incoming.payload is not None:
        out = await _pressed(turn, incoming.payload)
    elif incoming.kind != "text":
        what = WHAT.get(incoming.kind, "loại tin nhắn này")
        out = [Reply(f"Tôi chưa xem được {what}. Việc đang làm vẫn được giữ nguyên; "
                     "bạn trả lời câu hỏi dưới đây, hoặc gõ /huy để dừng."), *turn.ask()]
    else:
        out = await _typed(turn, incoming.text.strip(), answer)
    if out is not None:
        turn._store()
    return out


async def _pressed(turn: Turn[Any], payload: str) -> list[Reply]:
    nonce, value = _split_value(payload)
    if nonce != (turn.session.flow or {}).get("nonce"):
        return [Reply(STALE), *turn.ask()]
    if value == RESUME:
        return turn.go(turn.step)
    if value == CANCEL:
        turn.session.advance(turn.step)
        return [Reply(turn.flow.cancel_question, (turn.choice("❌ Đúng, hủy", CANCEL_SURE),
                                                  turn.choice("↩️ Không, làm tiếp", RESUME)))]
    if value == CANCEL_SURE:
        return turn.end(Reply(turn.flow.cancelled(turn.draft)))
    fn, arg = _lookup(turn.flow.steps[turn.step], value)
    out = await _call(fn, turn, arg) if fn else None
    return out if out is not None else [Reply(NOT_UNDERSTOOD), *turn.ask()]


async def _typed(turn: Turn[Any], text: str, answer: Answer) -> list[Reply] | None:
    step = turn.flow.steps[turn.step]
    if step.view and text and not text.isdigit():
        turn.end()  # leave the list; the text is handled as if no flow were open
        return None
    if step.view and text.isdigit() and not any(r.choices for r in turn.ask()):
        return turn.end(Reply(no_such_choice(text, 0)))  # nothing left to pick (e.g. every record approved)
    if text and not text.isdigit() and looks_like_question(text) and (
            not step.free_text or turn.deps.kb.match(text).status == "answer"):
        return await _answer_then_offer(turn, answer)
    out = await _call(step.text, turn, text) if step.text and text else None
    if out is not None:
        return out
    # Not an answer this step takes, but a question the knowledge base answers ("quen mat khau vneid" where the
    # phone digits are asked): answered, with "Tiếp tục" to come back, rather than "Bạn gõ đúng 3 chữ số".
    if text and not text.isdigit() and not step.free_text and turn.deps.kb.match(text).status == "answer":
        return await _answer_then_offer(turn, answer)
    return [Reply(_expected(turn, step, text)), *turn.ask()]


def _expected(turn: Turn[Any], step: Step[Any], text: str) -> str:
    shown = next((r.choices for r in reversed(turn.ask()) if r.choices), ()) if text.isdigit() else ()
    if shown and 1 <= int(text) <= len(shown):  # in this step's list, but another reply came between: show it again
        return f"Đây là danh sách của việc đang làm; bạn gõ lại số {text} giúp tôi nhé."
    if shown:
        return no_such_choice(text, len(shown))
    return step.expects or NOT_UNDERSTOOD


async def _answer_then_offer(turn: Turn[Any], answer: Answer) -> list[Reply]:
    """Answer a question asked mid-flow; the draft stays, and one choice resumes the same step."""
    replies = list(await answer(turn.incoming, turn.deps, turn.session) or [])
    lines = turn.ask()[-1].text.split("\n")
    asked = next((line for line in lines if "?" in line), lines[-1])
    turn.session.advance(turn.step)  # the step's old buttons go stale; "Tiếp tục" asks afresh
    note = f"\n\n(Việc đang làm vẫn được giữ: {asked} Bấm \"{turn.flow.resume_label}\" để làm tiếp.)"
    resume = turn.choice(turn.flow.resume_label, RESUME)
    if replies and replies[-1].choices:
        last = replies[-1]
        kept = tuple(c for c in last.choices if not c.payload.startswith(turn.flow.hide_in_answers))
        replies[-1] = dataclasses.replace(last, text=last.text + note, choices=(*kept, resume))
    else:
        replies.append(Reply(note.strip(), (resume,)))
    return replies
