"""The query plan of every statement an idle tick runs, on the benchmark databases.

Records the SQL the real `Engine.tick()` (scheduler.tick) sends when nothing is due, then shows
each statement's plan: `EXPLAIN QUERY PLAN` on SQLite, `EXPLAIN (ANALYZE, BUFFERS)` on
PostgreSQL (inside a transaction that is rolled back). An idle tick should be a handful
of index look-ups, none of which grows with the number of invoices.

    .venv/bin/python -m benchmarks.explain [--kinds sqlite,postgresql] [--sizes 1m]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

from sqlalchemy import event

from benchmarks._common import (
    dataset_arguments,
    engine_of,
    listed,
    one_run_at_a_time,
    running_app,
    without_rate_limiter,
)
from benchmarks._data import KINDS, SIZES, Dataset, ensure
from scheduler import tick_engine
from tests.fakes.bot_api import FakeBotApi


async def explain(dataset: Dataset) -> None:
    url = await ensure(dataset)
    async with running_app(url, request=FakeBotApi()) as app:
        without_rate_limiter(app)
        reminders = tick_engine(app)
        await reminders.tick()  # warm: connections, caches
        engine = engine_of(app)
        statements: list[tuple[str, Any]] = []

        def capture(*args: Any) -> None:
            statements.append((args[2], args[3]))

        event.listen(engine.sync_engine, "before_cursor_execute", capture)
        await reminders.tick()
        event.remove(engine.sync_engine, "before_cursor_execute", capture)
        print(f"=== {dataset.kind} {dataset.size}: {len(statements)} statements per idle tick")
        for statement, parameters in statements:
            print("\n" + " ".join(statement.split())[:400])
            print(f"  parameters: {parameters}")
            async with engine.connect() as connection:
                transaction = await connection.begin()
                try:
                    if dataset.kind == "sqlite":
                        plan = await connection.exec_driver_sql(
                            "EXPLAIN QUERY PLAN " + statement, parameters
                        )
                        for row in plan.all():
                            print(f"  plan: {row[-1]}")
                        started = time.perf_counter()
                        await connection.exec_driver_sql(statement, parameters)
                        print(f"  took {(time.perf_counter() - started) * 1000:.2f} ms")
                    else:
                        plan = await connection.exec_driver_sql(
                            "EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters
                        )
                        for row in plan.all():
                            print(f"  {row[0]}")
                finally:
                    await transaction.rollback()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    dataset_arguments(parser)
    parser.set_defaults(sizes="1m")
    args = parser.parse_args()
    for kind in listed(args.kinds, KINDS):
        for size in listed(args.sizes, list(SIZES)):
            await explain(Dataset(kind, size))


if __name__ == "__main__":
    with one_run_at_a_time():
        asyncio.run(main())
