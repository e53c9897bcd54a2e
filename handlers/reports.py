"""/baocao, /xuat, /bieudo and /sohodan: leaders' numbers for their own team (admins: any team)."""

from __future__ import annotations

import asyncio
import datetime as dt

from bot import reports
from bot import teams as team_data
from bot.access import LEADERS, Actor
from bot.assist import catalogue
from bot.core import Choice, Deps, Incoming, Reply, Session
from bot.export import audit_export, draw_chart, out_path, write_workbook
from bot.reports import Period
from knowledge.normalize import fold

from . import web
from .flowkit import arg_text

MAX_VILLAGE_SIZE = 100_000
MAX_TEAM_CHOICES = 10


def _today(deps: Deps) -> dt.date:
    return deps.clock().date()


def _team_choices(cmd: str, teams: list[tuple[int, str]], period: Period) -> tuple[Choice, ...]:
    return tuple(Choice(name, f"rp:{cmd}:{tid}:{period.arg}") for tid, name in teams[:MAX_TEAM_CHOICES])


def _resolve(deps: Deps, member: Actor, cmd: str, args: str) -> tuple[int, Period] | list[Reply]:
    """Which team and period the leader asked for, or the reply explaining what to type."""
    today = _today(deps)
    period = reports.parse_period(args, today)
    if not member.is_admin:
        if member.team_id is None:
            return [Reply(LEADERS.refusal)]
        if period is None:
            return [Reply(reports.period_error(args, today))]
        return member.team_id, period
    # Admins: "/baocao <tên tổ> [khoảng]", or pick the team from a list.
    name = ""
    if period is None:  # "<tên tổ> <khoảng>": the period is the longest tail that reads as one
        words = args.split()
        size = next((n for n in range(min(4, len(words) - 1), 0, -1)
                     if reports.parse_period(" ".join(words[-n:]), today) is not None), 0)
        period = reports.parse_period(" ".join(words[-size:]) if size else "", today)
        name = " ".join(words[:-size]) if size else args
    assert period is not None
    teams = reports.find_team(deps.storage.db, name) if name else \
        team_data.teams_by_name(deps.storage)
    if len(teams) == 1:
        return teams[0][0], period
    if not teams:
        everyone = team_data.teams_by_name(deps.storage)
        if not everyone:
            return [Reply("Chưa có tổ nào được tạo.")]
        return [Reply(f"Không tìm thấy tổ \"{name[:40]}\". Bạn chọn một tổ:",
                      _team_choices(cmd, everyone, period))]
    more = f" (có {len(teams)} tổ, gõ /{cmd} <tên tổ> để tìm tổ khác)" if len(teams) > MAX_TEAM_CHOICES else ""
    return [Reply(f"Bạn muốn xem tổ nào?{more}", _team_choices(cmd, teams, period))]


def approved_only(args: str) -> tuple[str, bool]:
    """'tháng này duyet' / 'thang nay da duyet' -> ('tháng này', True): count approved records only."""
    words = args.split()
    found = False
    while words and fold(words[-1]) in ("duyet", "da"):
        found = found or fold(words[-1]) == "duyet"
        words.pop()
    return (" ".join(words), True) if found else (args, False)


async def run(cmd: str, deps: Deps, team_id: int, period: Period, approved: bool = False,
              actor: int | None = None) -> list[Reply]:
    today = _today(deps)
    refusal = reports.period_refusal(period, today)  # bounded work, whoever parsed the period
    if refusal:
        return [Reply(refusal)]
    if period.start > today:  # "/baocao 20/11-25/11" typed on 18/11: no record can be there yet
        return [Reply(f"Khoảng {period.label} chưa tới (hôm nay là {reports.vn_date(today)}), nên chưa có lượt hỗ "
                      "trợ nào để xem. Bạn gõ lại, ví dụ: tuần này, tháng này, hoặc "
                      f"01/{today.month:02d}-{reports.vn_date(today)}.")]
    cat = catalogue()
    if cmd == "baocao":
        report = reports.team_report(deps.storage.db, team_id, period, cat, today, approved_only=approved)
        if report.records == 0:
            return [_empty_month(deps, team_id, period, today, reports.render(report, today), approved)]
        return [Reply(reports.render(report, today))]
    team = reports.team_name(deps.storage.db, team_id) or f"Tổ {team_id}"
    export_dir = deps.settings.export_dir
    if cmd == "xuat":
        path = out_path(export_dir, team, period, ".xlsx")

        def work() -> reports.Report:
            db = deps.storage.reader()
            try:
                return write_workbook(db, team_id, period, cat, today, path, approved_only=approved)
            finally:
                db.conn.close()

        report = await asyncio.to_thread(work)
        audit_export(deps.storage, actor, "team", team_id, period, deps.clock(), approved)
        which = " (chỉ phiếu đã duyệt)" if approved else ""
        return [Reply(f"Tệp Excel báo cáo {team}, {period.label}{which}: {report.records} lượt hỗ trợ, "
                      f"{report.households} hộ.{_empty(report.records, 'tệp chỉ có dòng tiêu đề')}",
                      file=path, summary=reports.render(report, today))]
    path = out_path(export_dir, team, period, ".png")

    def draw() -> tuple[int, reports.Report]:
        db = deps.storage.reader()
        try:
            return draw_chart(db, team_id, period, cat, path), reports.team_report(db, team_id, period, cat, today)
        finally:
            db.conn.close()

    _, report = await asyncio.to_thread(draw)
    skills = "; ".join(f"{name}: {n}" for name, n, _ in report.by_skill if n) or "chưa có lượt nào"
    return [Reply(f"Biểu đồ lượt hỗ trợ theo kỹ năng số của {team}, {period.label}. "
                  "Lượt nào có nhiều kỹ năng được tính ở từng kỹ năng."
                  f"{_empty(report.records, 'biểu đồ còn trống')}",
                  image=path, summary=f"{team}, {period.label}: {report.records} lượt hỗ trợ. {skills}.")]


def _empty_month(deps: Deps, team_id: int, period: Period, today: dt.date, text: str, approved: bool) -> Reply:
    """An empty report of this month (on 1/12 the records of 28/11 are last month's): says how many last month
    holds and offers it with a button, so the leader does not take the empty month for lost records."""
    last = reports.parse_period("tháng trước", today)
    if period.start != today.replace(day=1) or last is None:
        return Reply(text)
    before = reports.team_report(deps.storage.db, team_id, last, catalogue(), today, approved_only=approved)
    if before.records == 0:
        return Reply(text)
    return Reply(f"{text}\n{last.label.capitalize()} tổ có {before.records} lượt hỗ trợ; bấm nút dưới để xem.",
                 (Choice(f"Xem {last.label}", f"rp:baocao:{team_id}:{last.arg}"),))


def _empty(records: int, what: str) -> str:
    """Said under a file of a period with no records, so an empty file is not taken for a fault."""
    return (f"\nChưa có lượt hỗ trợ nào được ghi trong khoảng này, nên {what}. Thành viên ghi phiếu bằng /ghi; "
            "bạn gõ lại lệnh sau nhé.") if records == 0 else ""


def _command(cmd: str):
    @LEADERS
    async def handler(incoming: Incoming, deps: Deps, session: Session, member: Actor) -> list[Reply]:
        args, approved = approved_only(arg_text(incoming.text)) if cmd != "bieudo" else (arg_text(incoming.text), False)
        resolved = _resolve(deps, member, cmd, args)
        if isinstance(resolved, list):
            return resolved
        replies = await run(cmd, deps, *resolved, approved=approved, actor=member.actor_id)
        return web.offer(deps, incoming, replies) if cmd == "baocao" else replies
    return handler


async def pressed(incoming: Incoming, deps: Deps, session: Session) -> list[Reply]:
    """A team picked from the admin's list: "rp:<cmd>:<team_id>:<period>"."""
    parts = (incoming.payload or "").split(":", 3)
    if len(parts) != 4 or parts[1] not in ("baocao", "xuat", "bieudo") or not parts[2].isdigit():
        refused = LEADERS.check(deps, incoming.user_key)
        return refused if isinstance(refused, list) else [Reply("Nút này đã cũ. Bạn gõ lại lệnh giúp tôi nhé.")]
    team_id = int(parts[2])
    member = LEADERS.check(deps, incoming.user_key, team_id)  # a leader of another team is refused too
    if isinstance(member, list):
        return member
    period = reports.parse_period(parts[3], _today(deps))
    if reports.team_name(deps.storage.db, team_id) is None or period is None:
        return [Reply("Tổ này không còn nữa.")]
    replies = await run(parts[1], deps, team_id, period, actor=member.actor_id)
    return web.offer(deps, incoming, replies) if parts[1] == "baocao" else replies


@LEADERS
async def set_village_size(incoming: Incoming, deps: Deps, session: Session, member: Actor) -> list[Reply]:
    """/sohodan <thôn> <số hộ>: the village size, for coverage in reports."""
    if member.team_id is None:
        return [Reply("Bạn chưa thuộc tổ nào nên chưa đặt được số hộ của thôn.")]
    words = arg_text(incoming.text).split()
    villages = team_data.village_sizes(deps.storage, member.team_id)
    if len(words) < 2 or not words[-1].isdigit() or not any(ch.isalnum() for ch in " ".join(words[:-1])):
        known = "\n".join(f"- {name}: {size or 'chưa đặt'}" for _, name, size in villages)
        return [Reply("Gõ /sohodan <tên thôn> <số hộ>, ví dụ: /sohodan Xuân Thượng 320"
                      + (f"\nCác thôn của tổ:\n{known}" if known else ""))]
    size = int(words[-1])
    name = " ".join(words[:-1])[:60]
    if not 1 <= size <= MAX_VILLAGE_SIZE:
        return [Reply(f"Số hộ phải từ 1 đến {MAX_VILLAGE_SIZE:,}".replace(",", ".") + ". Bạn gõ lại giúp tôi nhé.")]
    found = next((v for v in villages if fold(v[1]) == fold(name)), None)
    if found is None:  # a typo must not create a village (only admins add villages, with /taoto)
        known = ", ".join(v[1] for v in villages) or "(chưa có)"
        return [Reply(f"Tổ không có thôn \"{name[:40]}\". Các thôn của tổ: {known}. "
                      "Bạn gõ lại đúng tên thôn, ví dụ: /sohodan Xuân Thượng 320")]
    team_data.set_village_size(deps.storage, found, size, member.actor_id, deps.clock())
    return [Reply(f"Đã ghi: thôn {found[1]} có {size} hộ. Báo cáo /baocao sẽ tính tỷ lệ hộ được hỗ trợ.")]


COMMANDS = {"/baocao": _command("baocao"), "/xuat": _command("xuat"), "/bieudo": _command("bieudo"),
            "/sohodan": set_village_size}
PAYLOADS = {"rp": pressed}
HELP = [
    ("/baocao [khoảng] [duyet]", "báo cáo của tổ: hôm nay, tuần trước, tháng 10, quý 3, 1/11-15/11…; "
     "thêm \"duyet\" để chỉ tính phiếu đã duyệt", "leader"),
    ("/xuat [khoảng] [duyet]", "xuất tệp Excel báo cáo (thêm \"duyet\": chỉ phiếu đã duyệt)", "leader"),
    ("/bieudo [khoảng]", "biểu đồ lượt hỗ trợ theo kỹ năng số", "leader"),
    ("/sohodan <thôn> <số hộ>", "đặt số hộ của thôn để tính tỷ lệ phủ", "leader"),
]
