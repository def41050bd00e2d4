"""``shujiao sandbox work``: run queued sandbox jobs and PSI runs, as the server processes also do."""

from __future__ import annotations

import time

import typer
from rich.console import Console

from shujiao.catalog.storage import LocalFileStorage
from shujiao.cli_support import session_factory, settings
from shujiao.sandbox import jobs

sandbox_app = typer.Typer(help="Data sandbox (数据沙箱): compute to data, private set intersection",
                          no_args_is_help=True)


@sandbox_app.command("work")
def work(once: bool = typer.Option(False, "--once", help="run what is queued now, then exit"),
         interval: int = typer.Option(2, min=1, help="seconds between looks at the queue")) -> None:
    """Run queued sandbox jobs and PSI runs (沙箱任务); any number of workers may run at once on
    PostgreSQL (a claim skips what another worker holds)."""
    config = settings()
    config.storage_root.mkdir(parents=True, exist_ok=True)
    storage = LocalFileStorage(config.storage_root)
    console = Console(stderr=True)
    total = 0
    while True:
        with console.status("沙箱任务 running sandbox jobs…"):
            ran = jobs.run_pending(session_factory(), config, storage, limit=1_000_000 if once else 1)
        total += len(ran)
        if ran:
            console.print(f"已完成 done: {', '.join(f'#{i}' for i in ran)}")
        if once:
            console.print(f"共 {total} 个任务 / {total} job(s) run")
            return
        if not ran:
            time.sleep(interval)
