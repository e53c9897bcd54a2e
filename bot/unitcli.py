"""The command-line doors for officials and for checking: `report`, `demo` and `indicators check`."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

from .config import Settings


def _indicators(settings: Settings):  # noqa: ANN202
    from knowledge.indicators import indicators_file, load_indicators

    return load_indicators(indicators_file(settings.local_knowledge_dir))


def report_command(settings: Settings, period_arg: str, province: str | None, commune: str | None,
                   team: str | None, fmt: str, out: str | None, db_path: str | None,
                   today: dt.date | None = None) -> int:
    """Print (or write) the roll-up of one province, commune or team (everything when none is named)."""
    from . import reports, unitreport
    from .assist import catalogue
    from .scope import Scope
    from .storage import Storage

    now = dt.datetime.now(ZoneInfo(settings.timezone))
    today = today or now.date()
    period = reports.parse_period(period_arg, today)
    if period is None:
        print(f"Lỗi: không hiểu khoảng thời gian '{period_arg}'. {reports.PERIOD_HELP}", file=sys.stderr)
        return 2
    path = Path(db_path) if db_path else settings.database_path
    if not path.is_file():
        print(f"Lỗi: chưa có cơ sở dữ liệu {path} (DATABASE_PATH hoặc --db).", file=sys.stderr)
        return 2
    Storage(path, settings.backup_dir).close()  # refuses a newer schema, upgrades an older one (after a backup)
    db = Storage.open_reader(path)
    try:
        named = [(level, name) for level, name in (("province", province), ("commune", commune), ("team", team))
                 if name]
        if len(named) > 1:
            print("Lỗi: chỉ chọn một trong --province, --commune, --team.", file=sys.stderr)
            return 2
        if named:
            level, name = named[0]
            found = unitreport.find_scopes(db, level, name)
            if len(found) != 1:
                listed = "; ".join(n for _, n in found[:10])
                print(f"Lỗi: {'không tìm thấy' if not found else 'có nhiều đơn vị khớp với'} \"{name}\""
                      + (f": {listed}" if listed else "") + ".", file=sys.stderr)
                return 2
            scope = found[0][0]
        else:
            scope = Scope("all")
        indicators = _indicators(settings)
        report = unitreport.build(db, scope, period, indicators)
        if fmt == "xlsx":
            from .official import write_official

            target = Path(out) if out else Path(f"baocao_{scope.level}_{period.start:%Y%m%d}-{period.end:%Y%m%d}.xlsx")
            write_official(db, report, catalogue(), indicators, today, target)
            print(f"Đã ghi {target} ({report.title}, {period.label}: {report.totals.numbers.records} lượt hỗ trợ).")
            return 0
        doc = report.as_dict(now)
        if not named:  # the national roll-up document (bot/rollup.py), with the units' numbers added
            from . import rollup

            base = rollup.province_report(db, period, catalogue(), today, now)
            base["totals"] = {**doc["totals"], **base["totals"]}
            doc = {**doc, **base, "units": doc["units"], "indicators": doc["indicators"]}
        text = json.dumps(doc, ensure_ascii=False, indent=1)
        if out:
            Path(out).write_text(text + "\n", encoding="utf-8")
        else:
            print(text)
        return 0
    finally:
        db.conn.close()


def demo_command(settings: Settings, db_path: str | None, today: dt.date | None = None) -> int:
    """Seed the demo into a new database file."""
    from . import demo
    from .assist import catalogue
    from .storage import Storage

    path = Path(db_path) if db_path else settings.database_path
    today = today or dt.datetime.now(ZoneInfo(settings.timezone)).date()
    store = Storage(path)
    try:
        seeded = demo.seed(store, catalogue(), _indicators(settings), today)
    except ValueError:
        print(f"Lỗi: {path} đã có dữ liệu tổ; dữ liệu mẫu chỉ tạo trong cơ sở dữ liệu mới "
              "(xóa tệp hoặc dùng --db TỆP_MỚI).", file=sys.stderr)
        return 2
    finally:
        store.close()
    print(f"Đã tạo dữ liệu mẫu trong {path}: 1 tỉnh, {seeded.communes} xã, {seeded.teams} tổ, {seeded.members} "
          f"thành viên, {seeded.records} lượt hỗ trợ, {seeded.activities} hoạt động trong {demo.DAYS} ngày "
          f"đến {today:%d/%m/%Y}.\n"
          f"Xem: python -m bot report --province \"Hưng Yên\" --db {path}\n"
          f"Trò chuyện với vai cán bộ tỉnh: DATABASE_PATH={path} python -m bot chat, rồi gõ /baocao")
    return 0


def indicators_check(settings: Settings) -> int:
    from knowledge.indicators import check, indicators_file

    path = indicators_file(settings.local_knowledge_dir)
    result, errors = check(path)
    for e in errors:
        print(f"LỖI: {e}")
    if errors:
        print(f"Tệp chỉ tiêu {path.name} có {len(errors)} lỗi.", file=sys.stderr)
        return 1
    print(f"Tệp chỉ tiêu hợp lệ: {len(result.indicators)} chỉ tiêu, {len(result.achievements)} loại kết quả, "
          f"{len(result.activities)} loại hoạt động.")
    return 0
