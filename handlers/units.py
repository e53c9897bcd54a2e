"""Communes and provinces in the chat: officials' /baocao, /xuat, /bieudo by their scope, invitations per
role (/moi tinh|xa|totruong), /hoatdong (a team's sessions), /donvi (admin: provinces, communes, teams'
places) and /mauso (denominators).

Each command here answers the cases that involve units and hands the rest (a leader's own team, an
admin picking a team) to the team handlers it wraps, so leaders see exactly what they saw before.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import replace

from bot import activities, assist, reports, teams, unitreport, units
from bot.access import (
    ADMINS,
    NOT_MEMBER,
    NOT_OWN_RECORD,
    READERS,
    ROLE_NAMES,
    Actor,
    Member,
    Role,
    member_for,
)
from bot.assist import catalogue
from bot.core import Choice, Deps, Handler, Incoming, Reply, Session
from bot.export import audit_export, draw_chart, out_path
from bot.official import write_official
from bot.scope import Scope, for_member
from bot.when import parse_day
from knowledge.indicators import Achievement, Indicators
from knowledge.normalize import fold

from . import reports as team_reports
from . import teams as team_handlers
from .flowkit import arg_text

LEVEL_WORDS = {"tinh": "province", "xa": "commune", "phuong": "commune", "dac khu": "commune", "to": "team"}
LEVEL_LABEL = {"province": "tỉnh", "commune": "xã", "team": "tổ"}
MAX_CHOICES = 10
NOT_OFFICIAL = READERS.refusal
LEADER_OWN_TEAM = ("Tổ trưởng xem được báo cáo của tổ mình: gõ /{cmd} hoặc /{cmd} kèm khoảng thời gian, "
                   "ví dụ /{cmd} tháng trước. Báo cáo theo xã, tỉnh hay của tổ khác dành cho cán bộ xã, tỉnh.")
NO_INDICATORS = ("Tôi chưa đọc được tệp chỉ tiêu nên chưa làm được việc này. Bạn báo người quản trị kiểm tra "
                 "tệp chỉ tiêu (lệnh: python -m bot indicators check) giúp tôi nhé.")

log = logging.getLogger(__name__)


def _level_word(args: str) -> tuple[str | None, str]:
    """'xa Tiên Tiến thang' -> ('commune', 'Tiên Tiến thang'); no level word -> (None, args)."""
    folded = fold(args).strip()
    for word, level in sorted(LEVEL_WORDS.items(), key=lambda kv: -len(kv[0])):
        if folded == word or folded.startswith(word + " "):
            return level, " ".join(args.split()[len(word.split()):])
    return None, args


def _name_and_period(deps: Deps, level: str, rest: str,
                     within: Scope) -> tuple[list[tuple[Scope, str]], reports.Period] | None:
    """Split 'Tiên Tiến thang' into units called 'Tiên Tiến' (in scope) and the period 'thang';
    None when no unit of that name is in scope."""
    today = deps.clock().date()
    words = rest.split()
    for cut in range(len(words), 0, -1):
        period = reports.parse_period(" ".join(words[cut:]), today)
        if period is None:
            continue
        found = unitreport.find_scopes(deps.storage.db, level, " ".join(words[:cut]), within)
        if found:
            return found, period
    return None


def _choices(cmd: str, found: list[tuple[Scope, str]], period: reports.Period) -> tuple[Choice, ...]:
    return tuple(Choice(name, f"un:{cmd}:{s.level}:{s.unit_id}:{period.arg}") for s, name in found[:MAX_CHOICES])


async def run_scope(cmd: str, deps: Deps, scope: Scope, period: reports.Period,
                    actor: int | None = None) -> list[Reply]:
    """One report, export or chart of a scope the reader may see (checked by the caller)."""
    today = deps.clock().date()
    refusal = reports.period_refusal(period, today)
    if refusal:
        return [Reply(refusal)]
    if scope.level == "team":  # a team: exactly what its leader sees
        return await team_reports.run(cmd, deps, scope.unit_id or 0, period, actor=actor)
    ind, cat = deps.readable_indicators(), catalogue()
    if ind is None and cmd != "bieudo":  # the chart needs no indicators
        return [Reply(NO_INDICATORS)]
    if cmd == "baocao" and ind is not None:
        report = unitreport.build(deps.storage.db, scope, period, ind)
        return [Reply(unitreport.render(report, ind))]
    title = reports.team_name(deps.storage.db, scope) or "báo cáo"
    if cmd == "xuat" and ind is not None:
        path = out_path(deps.settings.export_dir, title, period, ".xlsx")

        def work() -> unitreport.UnitReport:
            db = deps.storage.reader()
            try:
                return write_official(db, unitreport.build(db, scope, period, ind), cat, ind, today, path)
            finally:
                db.conn.close()

        report = await asyncio.to_thread(work)
        audit_export(deps.storage, actor, scope.level, scope.unit_id or 0, period, deps.clock())
        t = report.totals.numbers
        return [Reply(f"Tệp Excel báo cáo {report.title}, {period.label} (theo mẫu văn bản hành chính): "
                      f"{t.records} lượt hỗ trợ, {t.households} hộ, {t.people} người.", file=path,
                      summary=unitreport.render(report, ind))]
    path = out_path(deps.settings.export_dir, title, period, ".png")

    def draw() -> tuple[int, unitreport.UnitReport]:
        db = deps.storage.reader()
        try:
            return draw_chart(db, scope, period, cat, path), unitreport.build(db, scope, period)
        finally:
            db.conn.close()

    _, report = await asyncio.to_thread(draw)
    return [Reply(f"Biểu đồ lượt hỗ trợ theo kỹ năng số của {report.title}, {period.label}.", image=path,
                  summary=f"{report.title}, {period.label}: {report.totals.numbers.records} lượt hỗ trợ.")]


def _own_team_period(deps: Deps, team_id: int | None, rest: str) -> str | None:
    """What follows "tổ" in a leader's "báo cáo tổ tháng này" or "/baocao tổ CNS Xuân tuần này" when it is a
    period, or their own team's name then a period: the period's words; None for another team."""
    today = deps.clock().date()
    if reports.parse_period(rest, today) is not None:
        return rest
    name = fold(reports.team_name(deps.storage.db, team_id) or "") if team_id else ""
    words = rest.split()
    for cut in range(len(words), 0, -1):
        typed = fold(" ".join(words[:cut]))
        if name and typed in (name, name.removeprefix("to ")) and reports.parse_period(
                " ".join(words[cut:]), today) is not None:
            return " ".join(words[cut:])
    return None


def _report_command(cmd: str) -> Handler:
    fallback = team_reports.COMMANDS[f"/{cmd}"]

    async def handler(incoming: Incoming, deps: Deps, session: Session) -> list[Reply] | None:
        member = member_for(deps, incoming.user_key)
        args = arg_text(incoming.text)
        level, rest = _level_word(args)
        if member is not None and member.role == Role.LEADER and level is not None:
            own = _own_team_period(deps, member.team_id, rest) if level == "team" else None
            if own is None:
                return [Reply(LEADER_OWN_TEAM.format(cmd=cmd))]  # not "I don't understand the period 'xa …'"
            incoming = replace(incoming, text=f"/{cmd} {own}".strip())  # "báo cáo tổ tháng này": their own team
        if member is not None and member.is_admin and level == "team":  # "/baocao tổ Tổ CNS Đông": the team's name
            incoming = replace(incoming, text=f"/{cmd} {rest}".strip())
        if member is None or not (member.is_official or (member.is_admin and level in ("province", "commune"))):
            return await fallback(incoming, deps, session)  # leaders, admins picking a team, the refused
        mine = for_member(member)
        today = deps.clock().date()
        if level is None:  # an official's own commune or province
            period = reports.parse_period(args, today)
            if period is None:
                return [Reply(reports.period_error(args, today))]
            return await run_scope(cmd, deps, mine, period, member.actor_id)
        match = _name_and_period(deps, level, rest, mine)
        if match is None:
            return [Reply(f"Không tìm thấy {LEVEL_LABEL[level]} \"{rest[:40]}\" trong phạm vi bạn được xem. "
                          f"Gõ /{cmd} để xem đơn vị của bạn, hoặc /{cmd} {LEVEL_LABEL[level]} <tên> [thang].")]
        found, period = match
        if len(found) == 1:
            return await run_scope(cmd, deps, found[0][0], period, member.actor_id)
        return [Reply(f"Bạn muốn xem {LEVEL_LABEL[level]} nào?", _choices(cmd, found, period))]
    return handler


async def pressed(incoming: Incoming, deps: Deps, session: Session) -> list[Reply]:
    """A unit picked from a list: 'un:<cmd>:<level>:<id>:<period>'; checked against the scope again."""
    parts = (incoming.payload or "").split(":", 4)
    member = member_for(deps, incoming.user_key)
    if len(parts) != 5 or parts[1] not in ("baocao", "xuat", "bieudo") or parts[2] not in LEVEL_LABEL \
            or not parts[3].isdigit():
        return [Reply("Nút này đã cũ. Bạn gõ lại lệnh giúp tôi nhé.")]
    target = Scope(parts[2], int(parts[3]))
    period = reports.parse_period(parts[4], deps.clock().date())
    if member is None or not for_member(member).within(target, deps.storage.db) or period is None:
        return [Reply(NOT_OFFICIAL if period is not None else "Nút này đã cũ. Bạn gõ lại lệnh giúp tôi nhé.")]
    return await run_scope(parts[1], deps, target, period, member.actor_id)


# --- invitations per role -----------------------------------------------------------------------

INVITE_HELP = {
    "admin": "Quản trị: /moi tinh <tên tỉnh> (cán bộ tỉnh), /moi xa <tên xã> (cán bộ xã), /moi totruong (tổ trưởng).",
    "province": "Cán bộ tỉnh: /moi xa <tên xã> để mời cán bộ xã, /moi totruong <tên tổ> để mời tổ trưởng.",
    "commune": "Cán bộ xã: /moi totruong <tên tổ> để mời tổ trưởng một tổ của xã.",
}


async def invite(incoming: Incoming, deps: Deps, session: Session) -> list[Reply]:
    """/moi tinh|xa <tên> (officials' invites), /moi totruong <tổ> (from an official); else the team /moi."""
    member = member_for(deps, incoming.user_key)
    args = arg_text(incoming.text)
    level, name = _level_word(args)
    words = fold(args).split()
    leader_for_team = bool(words) and words[0] in ("totruong", "truong") and len(words) > 1
    if member is None or not (member.is_official or (member.is_admin and level in ("province", "commune"))):
        return await team_handlers.invite(incoming, deps, session)
    if member.is_official and not (level in ("province", "commune") or leader_for_team):
        return [Reply(INVITE_HELP[member.role])]
    mine = for_member(member)
    db, now = deps.storage.db, deps.clock()
    if leader_for_team:
        wanted = " ".join(args.split()[1:])
        found = unitreport.find_scopes(db, "team", wanted, mine)
        if len(found) != 1:
            listed = ", ".join(n for _, n in found[:MAX_CHOICES])
            return [Reply(f"{'Không tìm thấy' if not found else 'Có nhiều'} tổ \"{wanted[:40]}\" trong phạm vi của bạn"
                          + (f": {listed}" if listed else "") + ". Gõ đúng tên tổ giúp tôi nhé.")]
        scope, title = found[0]
        code, expires = teams.create_invite(deps.storage, scope.unit_id, "leader", member.actor_id, now)
        return [Reply(f"Mã mời tổ trưởng tổ \"{title}\": {code}\nMã dùng được 1 lần, đến hết ngày "
                      f"{expires:%d/%m/%Y}. Người được mời nhắn cho tôi: /thamgia {code}")]
    # Both gates above let an official or an admin through only with 'tinh' or 'xa' (or a team leader's invite).
    assert level is not None
    if level == "province" and not member.is_admin:
        return [Reply(ADMINS.refusal)]
    found = unitreport.find_scopes(db, level, name, mine) if name.strip() else []
    if len(found) != 1:
        hint = "/donvi tinh <tên tỉnh>" if level == "province" else "/donvi xa <tên xã>"
        listed = ", ".join(n for _, n in found[:MAX_CHOICES])
        return [Reply(f"{'Không tìm thấy' if not found else 'Có nhiều đơn vị khớp với'} {LEVEL_LABEL[level]} "
                      f"\"{name[:40]}\"" + (f": {listed}" if listed else "")
                      + f". Gõ /moi {LEVEL_LABEL[level]} <tên>; quản trị tạo đơn vị mới bằng {hint}.")]
    scope, title = found[0]
    code, expires = teams.create_invite(deps.storage, None, level, member.actor_id, now, unit_id=scope.unit_id)
    return [Reply(f"Mã mời {ROLE_NAMES[level]} {title}: {code}\nMã dùng được 1 lần, đến hết ngày "
                  f"{expires:%d/%m/%Y}. Người được mời nhắn cho tôi: /thamgia {code}")]


# --- /donvi: provinces, communes and teams' places (admins) ----------------------------------------

DONVI_HELP = ("Cách dùng (quản trị):\n"
              "/donvi: xem các tỉnh, xã và tổ\n"
              "/donvi tinh <tên tỉnh>: tạo tỉnh; các xã chưa có tỉnh được xếp vào tỉnh này\n"
              "/donvi xa <tên xã>: tạo xã trong tỉnh (khi chỉ có một tỉnh)\n"
              "/donvi chuyen <tên tổ>; <tên xã>: xếp một tổ vào xã")


@ADMINS
async def manage_units(incoming: Incoming, deps: Deps, session: Session, member: Actor) -> list[Reply]:
    """/donvi: the one-time admin command to place existing data in provinces and communes."""
    actor = member.actor_id
    args = arg_text(incoming.text)
    level, name = _level_word(args)
    db, now = deps.storage.db, deps.clock()
    folded = fold(args).split()
    if folded and folded[0] == "chuyen":
        parts = [p.strip() for p in " ".join(args.split()[1:]).split(";")]
        if len(parts) != 2 or not all(parts):
            return [Reply(DONVI_HELP)]
        team = unitreport.find_scopes(db, "team", parts[0])
        places = units.find_units(db, "commune", parts[1])
        if len(team) != 1 or len(places) != 1:
            return [Reply(f"Cần đúng một tổ và một xã: tìm thấy {len(team)} tổ \"{parts[0][:40]}\" và "
                          f"{len(places)} xã \"{parts[1][:40]}\". Gõ /donvi để xem tên.")]
        units.place_team(deps.storage, team[0][0].unit_id or 0, places[0].id, actor, now)
        return [Reply(f"Đã xếp tổ \"{team[0][1]}\" vào {places[0].title}.")]
    if level == "province" and name.strip():
        province_id, adopted = units.create_province(deps.storage, name[:units.MAX_NAME], actor, now)
        created = units.get_unit(db, province_id)
        assert created is not None  # found or made just above; units are never deleted
        title = created.title
        return [Reply(f"Đã có tỉnh {title}." + (f" Đã xếp {adopted} xã chưa có tỉnh vào tỉnh này." if adopted else "")
                      + " Mời cán bộ tỉnh: /moi tinh <tên tỉnh>.")]
    if level == "commune" and name.strip():
        all_provinces = units.provinces(db)
        if len(all_provinces) != 1:
            return [Reply("Cần đúng một tỉnh để tạo xã bằng lệnh này. Tạo tỉnh trước: /donvi tinh <tên tỉnh>.")]
        commune = units.get_unit(db, units.create_commune(deps.storage, all_provinces[0].id, args, actor, now))
        assert commune is not None  # found or made just above; units are never deleted
        return [Reply(f"Đã có {commune.title} thuộc {all_provinces[0].title}.")]
    if args.strip():
        return [Reply(DONVI_HELP)]
    lines = []
    for province in units.provinces(db) + [None]:
        communes = units.communes(db, province.id) if province else units.communes(db, orphans=True)
        if province is None and not communes:
            continue
        lines.append(province.title if province else "(xã chưa có tỉnh)")
        for c in communes:
            names = ", ".join(n for _, n in units.teams_of_commune(db, c.id)) or "chưa có tổ"
            lines.append(f"- {c.title}: {names}")
    orphans = units.teams_without_commune(db)
    if orphans:
        lines.append("Tổ chưa có xã: " + ", ".join(orphans))
    return [Reply(("\n".join(lines) or "Chưa có tỉnh, xã nào.") + "\n\n" + DONVI_HELP)]


# --- /mauso: denominators -------------------------------------------------------------------------

MAUSO_HELP = ("Gõ /mauso <thôn hoặc xã>; <số hộ>; <số người từ 18 tuổi>; [ngày của số liệu]\n"
              "Ví dụ: /mauso Thôn Đông; 320; 860; 01/10/2026 hoặc /mauso xã Tiên Tiến; 3100; 8200")
FIGURES_BACK_DAYS = 5 * 366  # a census or a commune's register may be a few years old
ACTIVITY_BACK_DAYS = 90


@READERS
async def denominators(incoming: Incoming, deps: Deps, session: Session, member: Actor) -> list[Reply]:
    """/mauso: households and adults of a village (leader, officials) or a commune (officials)."""
    parts = [p.strip() for p in arg_text(incoming.text).split(";")]
    today = deps.clock().date()
    if len(parts) not in (3, 4) or not all(parts[:3]):
        return [Reply(MAUSO_HELP)]
    numbers = [p.replace(".", "").replace(",", "") for p in parts[1:3]]
    if not all(n.isdigit() for n in numbers) or not all(0 < int(n) <= units.MAX_DENOMINATOR for n in numbers):
        return [Reply("Số hộ và số người phải là số nguyên dương, ví dụ 320 và 860.\n" + MAUSO_HELP)]
    on = today
    if len(parts) == 4 and parts[3]:
        said_on, why = parse_day(parts[3], today, back_days=FIGURES_BACK_DAYS)
        if said_on is None:
            return [Reply(f"Ngày của số liệu chưa đúng: {why}\n" + MAUSO_HELP)]
        on = said_on
    households, adults = int(numbers[0]), int(numbers[1])
    if adults < households:
        return [Reply("Số người từ 18 tuổi thường lớn hơn số hộ. Bạn kiểm tra lại thứ tự: số hộ trước, "
                      "số người sau.\n" + MAUSO_HELP)]
    scope, db = for_member(member), deps.storage.db
    level, name = _level_word(parts[0])
    if level == "commune":
        found = unitreport.find_scopes(db, "commune", name, scope)
        if len(found) != 1 or not member.is_official and not member.is_admin:
            return [Reply("Chỉ cán bộ xã, cán bộ tỉnh đặt được số liệu của xã trong phạm vi của mình.")]
        commune, title = found[0]
        units.set_denominators(deps.storage, "units", commune.unit_id or 0, households, adults, on,
                               member.actor_id, deps.clock())
        return [Reply(f"Đã ghi: {title} có {households} hộ, {adults} người "
                      f"từ 18 tuổi (số liệu ngày {on:%d/%m/%Y}).")]
    villages = [(vid, vname) for vid, vname in units.villages_in(db, scope) if fold(vname) == fold(parts[0])]
    if len(villages) != 1:
        return [Reply(f"{'Không tìm thấy' if not villages else 'Có nhiều'} thôn \"{parts[0][:40]}\" trong phạm vi "
                      "của bạn. Gõ đúng tên thôn như trong /sohodan.")]
    units.set_denominators(deps.storage, "villages", villages[0][0], households, adults, on, member.actor_id,
                           deps.clock())
    return [Reply(f"Đã ghi: {villages[0][1]} có {households} hộ, {adults} người từ 18 tuổi "
                  f"(số liệu ngày {on:%d/%m/%Y}).")]


# --- /hoatdong: a team's sessions -----------------------------------------------------------------

def _hoatdong_help(deps: Deps, member: Member, ind: Indicators) -> str:
    kinds = "\n".join(f"- {k.label}: gõ {k.code.replace('_', ' ')}" for k in ind.activities)
    villages = ", ".join(v.name for v in teams.villages(deps.storage, member.team_id or 0))
    return ("Ghi một buổi hoạt động của tổ:\n/hoatdong <loại>; <ngày>; <thôn>; <số người dự>; [ghi chú]\n"
            "Ví dụ: /hoatdong tuyen truyen; hôm nay; Thôn Đông; 35; họp thôn về VNeID\n"
            f"Các loại:\n{kinds}\nNgày: hôm nay, hôm qua, thứ 2 hoặc 25/11 (trong {ACTIVITY_BACK_DAYS} ngày qua). "
            f"Thôn của tổ: {villages or 'chưa có'}.")


async def log_activity(incoming: Incoming, deps: Deps, session: Session) -> list[Reply]:
    """/hoatdong <loại>; <ngày>; <thôn>; <số người>; [ghi chú]: one session of the member's team."""
    member = member_for(deps, incoming.user_key)
    if not isinstance(member, Member) or member.team_id is None:
        return [Reply("Lệnh /hoatdong dành cho thành viên một tổ: hoạt động được tính cho tổ của bạn.")]
    ind = deps.readable_indicators()
    if ind is None:  # the kinds of session are in the indicators file
        return [Reply(NO_INDICATORS)]
    parts = [p.strip() for p in arg_text(incoming.text).split(";")]
    if len(parts) < 4:
        return [Reply(_hoatdong_help(deps, member, ind))]
    today = deps.clock().date()
    wanted = fold(parts[0]).replace(" ", "").replace("_", "")
    kind = next((k for k in ind.activities if wanted and (wanted == k.code.replace("_", "")
                                                          or wanted in fold(k.label).replace(" ", ""))), None)
    day, why = parse_day(parts[1], today, back_days=ACTIVITY_BACK_DAYS)
    village = next((v for v in teams.villages(deps.storage, member.team_id) if fold(v.name) == fold(parts[2])), None)
    count = parts[3].replace(".", "")
    problems = []
    if kind is None:
        problems.append(f"chưa rõ loại hoạt động \"{parts[0][:30]}\"")
    if day is None:
        problems.append(why.rstrip(".").replace("Bạn gõ", "bạn gõ"))
    if village is None:
        problems.append(f"tổ chưa có thôn \"{parts[2][:30]}\"")
    if not count.isdigit() or not 1 <= int(count) <= activities.MAX_ATTENDEES:
        problems.append(f"số người dự phải từ 1 đến {activities.MAX_ATTENDEES}")
    if problems or kind is None or day is None or village is None:  # each None added a problem
        return [Reply("Chưa ghi được: " + "; ".join(problems) + ".\n\n" + _hoatdong_help(deps, member, ind))]
    request = f"{incoming.user_key}:{incoming.message_id}" if incoming.message_id else None
    activity_id, created = activities.log_activity(
        deps.storage, request or f"{incoming.user_key}:{deps.clock().isoformat()}:{arg_text(incoming.text)[:60]}",
        member.team_id, member.id, kind.code, day, village.id, int(count), ";".join(parts[4:]) or None, deps.clock())
    said = "Đã ghi" if created else "Buổi này đã được ghi rồi"
    return [Reply(f"{said} hoạt động số {activity_id}: {kind.label}, ngày {day:%d/%m/%Y}, {village.name}, "
                  f"{int(count)} người dự. Hoạt động được tính vào /baocao và các chỉ tiêu.")]


# --- /ketqua: people helped and what was achieved, on one's own record -------------------------------

MAX_PEOPLE_CHOICE = 6


def _own(deps: Deps, incoming: Incoming, record_id: int) -> tuple[Member, assist.RecordView] | list[Reply]:
    """The member and their own recent record, or the refusal to send."""
    member = member_for(deps, incoming.user_key)
    record = assist.get_record(deps.storage.db, record_id)
    if not isinstance(member, Member) or record is None or not record.editable_by(member.id, deps.clock()):
        return [Reply(NOT_OWN_RECORD.format(days=assist.EDIT_DAYS))]
    return member, record


def _questions(deps: Deps, services: list[str]) -> list[Achievement] | None:
    """The achievements a record's services can have, in the file's order (None: the file is unreadable)."""
    ind = deps.readable_indicators()
    return None if ind is None else [a for a in ind.achievements if any(s in a.services for s in services)]


def _ask(deps: Deps, record_id: int, people: int, services: list[str], index: int) -> list[Reply]:
    questions = _questions(deps, services)
    if questions is None:
        return [Reply(f"Đã lưu phiếu số {record_id}. " + NO_INDICATORS)]
    if index >= len(questions):
        return [Reply(f"Đã lưu kết quả của phiếu số {record_id}. Cảm ơn bạn! Số liệu này được tính vào các "
                      "chỉ tiêu trong /baocao.")]
    a = questions[index]
    options = tuple(Choice(f"{n} {a.unit}" if n else "Chưa được", f"kq:{record_id}:a:{index}:{n}")
                    for n in range(0, min(people, MAX_PEOPLE_CHOICE) + 1))
    return [Reply(f"Phiếu số {record_id}: {a.label} cho mấy {a.unit}?", options)]


async def outcome(incoming: Incoming, deps: Deps, session: Session) -> list[Reply]:
    """/ketqua <số phiếu>: how many people of the household were helped, and what they achieved."""
    number = arg_text(incoming.text).lstrip("#").strip()
    member = member_for(deps, incoming.user_key)
    if member is None:  # not "only your own records": they have none
        return [Reply(NOT_MEMBER)]
    if not number and isinstance(member, Member):
        recent = assist.member_records(deps.storage.db, member.id, deps.clock().date() - dt.timedelta(days=7), 1)
        number = str(recent[0].id) if recent else ""
    if not number.isdigit():
        return [Reply("Bạn gõ /ketqua kèm số phiếu, ví dụ /ketqua 12, để ghi số người được hỗ trợ và kết quả "
                      "(kích hoạt VNeID mức 2, mở tài khoản...). Xem số phiếu bằng /cuatoi.")]
    own = _own(deps, incoming, int(number))
    if isinstance(own, list):  # refused
        return own
    record = own[1]
    return [Reply(f"Phiếu số {record.id} ({record.head_name or 'hộ đã xóa tên'}): trong hộ có mấy người "
                  "được hỗ trợ?", people_choices(record.id))]


def people_choices(record_id: int) -> tuple[Choice, ...]:
    """'1 người' … '6 người' for a record; also offered under the receipt of /ghi."""
    return tuple(Choice(f"{n} người", f"kq:{record_id}:p:{n}") for n in range(1, MAX_PEOPLE_CHOICE + 1))


async def outcome_pressed(incoming: Incoming, deps: Deps, session: Session) -> list[Reply]:
    """'kq:<record>:p:<people>' or 'kq:<record>:a:<question index>:<count>': saved at once, then the next."""
    parts = (incoming.payload or "").split(":")
    if len(parts) < 4 or not all(p.isdigit() for p in parts[1:2] + parts[3:]) or parts[2] not in ("p", "a") \
            or (parts[2] == "a") != (len(parts) == 5):
        return [Reply("Nút này đã cũ. Bạn gõ lại /ketqua <số phiếu> giúp tôi nhé.")]
    own = _own(deps, incoming, int(parts[1]))
    if isinstance(own, list):  # refused
        return own
    member, record = own
    people, achieved = assist.record_results(deps.storage.db, record.id)
    if parts[2] == "p":
        people = max(1, min(int(parts[3]), MAX_PEOPLE_CHOICE))
        assist.update_record(deps.storage, record.id, member.id, {"people": people}, deps.clock())
        return _ask(deps, record.id, people, record.services, 0)
    index, count = int(parts[3]), int(parts[4])
    questions = _questions(deps, record.services)
    if questions is None:
        return [Reply(NO_INDICATORS)]
    if index >= len(questions) or count > people:
        return [Reply("Nút này đã cũ. Bạn gõ lại /ketqua <số phiếu> giúp tôi nhé.")]
    achieved[questions[index].code] = count
    assist.update_record(deps.storage, record.id, member.id, {"achieved": achieved}, deps.clock())
    return _ask(deps, record.id, people, record.services, index + 1)


COMMANDS = {"/baocao": _report_command("baocao"), "/xuat": _report_command("xuat"),
            "/bieudo": _report_command("bieudo"), "/moi": invite, "/donvi": manage_units,
            "/mauso": denominators, "/hoatdong": log_activity, "/ketqua": outcome}
PAYLOADS = {"un": pressed, "kq": outcome_pressed}
HELP = [
    ("/ketqua <số>", "ghi số người được hỗ trợ và kết quả (VNeID mức 2, tài khoản...) của phiếu", "member"),
    ("/hoatdong", "ghi một buổi tuyên truyền, lớp Bình dân học vụ số... của tổ", "member"),
    ("/baocao xa <tên>", "cán bộ tỉnh, xã: báo cáo theo xã, theo tổ (/xuat: Excel theo mẫu)", "leader"),
    ("/mauso", "đặt số hộ, số người từ 18 tuổi của thôn hoặc xã", "leader"),
    ("/donvi", "quản trị: tỉnh, xã và xếp tổ vào xã", "admin"),
]
