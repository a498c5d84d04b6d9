"""Routine beat dispatches log at DEBUG (settings.LOGGING wires casinoclub.log_filters)."""

import logging

from celery.app.trace import LOG_RECEIVED, LOG_SUCCESS

BACKSTOP = "casinoclub.tasks.projections_run_task"


def _dispatch(entry: str, task: str) -> None:
    # exactly what celery.beat.Scheduler.apply_entry logs
    logging.getLogger("celery.beat").info("Scheduler: Sending due task %s (%s)", entry, task)


def test_a_routine_beat_dispatch_is_not_logged_at_info(caplog):
    caplog.set_level(logging.INFO)

    _dispatch("run-projections", BACKSTOP)

    assert caplog.records == []


def test_a_routine_beat_dispatch_is_logged_at_debug_when_debug_is_on(caplog):
    caplog.set_level(logging.DEBUG)

    _dispatch("run-projections", BACKSTOP)

    assert [(record.name, record.levelname, record.getMessage()) for record in caplog.records] == [
        (
            "celery.beat",
            "DEBUG",
            f"Scheduler: Sending due task run-projections ({BACKSTOP})",
        )
    ]


def test_the_worker_receipt_and_success_of_a_routine_task_are_not_logged_at_info(caplog):
    caplog.set_level(logging.INFO)
    context = {"id": "abc", "name": BACKSTOP, "args": "()", "kwargs": "{}"}

    logging.getLogger("celery.worker.strategy").info(LOG_RECEIVED, context)
    logging.getLogger("celery.app.trace").info(
        LOG_SUCCESS, {"id": "abc", "name": BACKSTOP, "return_value": 0, "runtime": 0.01}
    )

    assert caplog.records == []


def test_other_tasks_and_other_beat_messages_keep_info(caplog):
    caplog.set_level(logging.INFO)

    _dispatch("adhoc", "shop.tasks.purchase_provider_refund_task")
    logging.getLogger("celery.beat").info("beat: Starting...")
    logging.getLogger("celery.app.trace").info(
        LOG_SUCCESS, {"id": "x", "name": "shop.tasks.purchase_provider_refund_task", "return_value": 1,
                      "runtime": 0.5},
    )  # fmt: skip

    assert [(record.levelname, record.getMessage()) for record in caplog.records] == [
        ("INFO", "Scheduler: Sending due task adhoc (shop.tasks.purchase_provider_refund_task)"),
        ("INFO", "beat: Starting..."),
        ("INFO", "Task shop.tasks.purchase_provider_refund_task[x] succeeded in 0.5s: 1"),
    ]


def test_a_failed_routine_task_keeps_its_level(caplog):
    caplog.set_level(logging.INFO)

    logging.getLogger("celery.app.trace").error(
        "Task %(name)s[%(id)s] raised unexpected: %(exc)s",
        {"id": "abc", "name": BACKSTOP, "exc": "boom"},
    )

    assert [(record.levelname, record.getMessage()) for record in caplog.records] == [
        ("ERROR", f"Task {BACKSTOP}[abc] raised unexpected: boom")
    ]
