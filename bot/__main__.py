"""Command line: `python -m bot [run|chat|ask|kb dump|kb check|indicators check|backup|restore|report|demo]`."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from typing import TypedDict

from knowledge.check import check
from knowledge.kb import KnowledgeBase
from knowledge.loader import KnowledgeError, Source, load

from . import backup, runner, unitcli
from .app import build_deps, setup_logging
from .backup import BackupError
from .channels.console import chat
from .config import ConfigError, Settings
from .safety import redact
from .storage import SchemaError

log = logging.getLogger("bot")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bot", description="Trợ lý Tổ công nghệ số cộng đồng")
    sub = p.add_subparsers(dest="command")
    sub.add_parser("run", help="start every configured channel (the console chat when none is)")
    sub.add_parser("chat", help="console chat")
    ask = sub.add_parser("ask", help="answer questions (arguments, or one per line on stdin)")
    ask.add_argument("--json", action="store_true", help="one JSON object per question")
    ask.add_argument("questions", nargs="*")
    kb = sub.add_parser("kb", help="knowledge base tools")
    kb_sub = kb.add_subparsers(dest="kb_command", required=True)
    kb_sub.add_parser("dump", help="print the loaded knowledge base as JSON")
    check = kb_sub.add_parser("check", help="validate the knowledge base")
    check.add_argument("--only", nargs="+", metavar="FILE",
                       help="report only the entries of these files (paths or file names)")
    backup = sub.add_parser("backup", help="copy the database (safe while the bot runs), verified, mode 0600")
    backup.add_argument("file", nargs="?", help="where to write it (default: a dated file in BACKUP_DIR)")
    restore = sub.add_parser("restore", help="replace the database with a backup (stop the bot first)")
    restore.add_argument("file")
    ind = sub.add_parser("indicators", help="indicator file tools (knowledge/indicators.yaml)")
    ind.add_subparsers(dest="ind_command", required=True).add_parser("check", help="validate the indicators")
    report = sub.add_parser("report", help="roll-up of a province, commune or team (JSON or official Excel)")
    report.add_argument("period_arg", nargs="?", default=None, metavar="period")
    report.add_argument("--period", default=None, help="thang (default), quy, 6 thang, nam, 01/11/2026-15/11/2026...")
    where = report.add_mutually_exclusive_group()
    where.add_argument("--province")
    where.add_argument("--commune")
    where.add_argument("--team")
    report.add_argument("--format", choices=("json", "xlsx"), default="json")
    report.add_argument("--out", help="write to this file instead of standard output")
    report.add_argument("--db", help="database file (default: DATABASE_PATH)")
    demo = sub.add_parser("demo", help="seed a realistic demo database (1 province, 3 communes, 8 teams)")
    demo.add_argument("--db", help="database file to create (default: DATABASE_PATH)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings.load()
    except ConfigError as exc:
        print(f"Lỗi cấu hình: {exc}", file=sys.stderr)
        return 2
    command = args.command or "run"
    try:
        if command == "ask":
            return ask(settings, args.questions, args.json)
        if command == "kb":
            return kb_dump(settings) if args.kb_command == "dump" else kb_check(settings, args.only)
        if command == "backup":
            return backup_command(settings, args.file)
        if command == "restore":
            return restore_command(settings, args.file)
        if command in ("indicators", "report", "demo"):
            if command == "indicators":
                return unitcli.indicators_check(settings)
            if command == "demo":
                return unitcli.demo_command(settings, args.db)
            return unitcli.report_command(settings, args.period or args.period_arg or "thang", args.province,
                                          args.commune, args.team, args.format, args.out, args.db)

        setup_logging(settings)
        if command == "chat":
            return asyncio.run(run_console(settings))
        return run(settings)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # startup errors: one clear line, no traceback for the user
        if isinstance(exc, KnowledgeError | ConfigError | SchemaError | BackupError):
            print(f"Lỗi: {exc}", file=sys.stderr)
            return 2
        raise


async def run_console(settings: Settings) -> int:
    deps = build_deps(settings)
    try:
        await chat(deps)
    finally:
        deps.storage.close()
    return 0


def run(settings: Settings) -> int:
    """Start every channel with a token, in one process; the console chat when none is configured."""
    return runner.run(settings)


def backup_command(settings: Settings, file: str | None) -> int:
    import datetime as dt
    from pathlib import Path


    database = settings.database_path
    if not database.is_file():
        print(f"Lỗi: chưa có cơ sở dữ liệu {database} (DATABASE_PATH).", file=sys.stderr)
        return 2
    dest = Path(file) if file else backup.daily_path(database, settings.backup_dir, dt.datetime.now())
    check = backup.copy_database(database, dest)
    print(f"Đã sao lưu vào {dest} (phiên bản lược đồ {check.version}, {check.counts.get('records', 0)} lượt hỗ trợ, "
          f"{check.counts.get('households', 0)} hộ; kiểm tra toàn vẹn: tốt).")
    return 0


def restore_command(settings: Settings, file: str) -> int:
    from pathlib import Path


    aside = backup.restore(settings.database_path, Path(file))
    print(f"Đã khôi phục {settings.database_path} từ {file}."
          + (f" Cơ sở dữ liệu cũ được giữ lại ở {aside}." if aside else "")
          + " Bạn có thể khởi động lại trợ lý.")
    return 0


class AskedEntry(TypedDict):
    id: str
    title: str
    answer: str
    sources: list[Source]


class AskedChoice(TypedDict):
    id: str
    title: str
    score: float


class AskResult(TypedDict):
    """One line of `python -m bot ask --json`."""
    question: str
    status: str  # answer | choices | none
    entry: AskedEntry | None  # with status 'answer'
    score: float
    choices: list[AskedChoice]


def _ask_result(kb: KnowledgeBase, question: str) -> AskResult:

    match = kb.match(redact(question).text) if question.strip() else None
    status = match.status if match else "none"
    best = match.best if match else None
    entry: AskedEntry | None = None
    if status == "answer" and best is not None:
        e = best.entry
        entry = {"id": e.id, "title": e.title, "answer": e.answer, "sources": list(e.sources)}
    offered = (match.choices or match.also) if match else ()  # with an answer: the message's other questions
    choices: list[AskedChoice] = [{"id": s.entry.id, "title": s.entry.title, "score": s.score} for s in offered]
    return {"question": question, "status": status, "entry": entry,
            "score": best.score if best else 0.0, "choices": choices}


def _plain(value: object) -> object:
    """JSON for a knowledge source: {"outlet", "title", "url"}."""
    to_dict = getattr(value, "to_dict", None)
    if to_dict is None:
        raise TypeError(f"not JSON serialisable: {value!r}")
    return to_dict()


def ask(settings: Settings, questions: list[str], as_json: bool) -> int:
    """Answer questions without touching the database."""
    kb = KnowledgeBase.load(settings.local_knowledge_dir)
    lines = questions if questions else [line.rstrip("\r\n") for line in sys.stdin]
    for question in lines:
        result = _ask_result(kb, question)
        if as_json:
            print(json.dumps(result, ensure_ascii=False, default=_plain), flush=True)
            continue
        print(f"? {question}")
        entry = result["entry"]
        if entry is not None:  # set exactly when the status is 'answer'
            print(f"[{entry['id']}] {entry['title']} ({result['score']})")
            print(entry["answer"])
        elif result["status"] == "choices":
            print("Ý bạn là…?")
            for i, c in enumerate(result["choices"], 1):
                print(f"  {i}. {c['title']} [{c['id']}] ({c['score']})")
        else:
            print("Chưa có câu trả lời.")
        print()
    return 0


def kb_dump(settings: Settings) -> int:
    entries = load(settings.local_knowledge_dir)
    print(json.dumps([e.to_dict() for e in entries], ensure_ascii=False, indent=2))
    return 0


def kb_check(settings: Settings, only: list[str] | None = None) -> int:
    from pathlib import Path


    if only:
        missing = [name for name in only if not Path(name).is_file() and Path(name).parent != Path(".")]
        if missing:
            print(f"Không tìm thấy tệp: {', '.join(missing)}", file=sys.stderr)
            return 2
    report = check(settings.local_knowledge_dir, only=only)
    for w in report.warnings:
        print(f"CẢNH BÁO: {w}")
    for e in report.errors:
        print(f"LỖI: {e}")
    if report.ok:
        print(f"Kho kiến thức hợp lệ: {report.entries} mục, {len(report.warnings)} cảnh báo.")
        return 0
    print(f"Kho kiến thức có {len(report.errors)} lỗi.", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
