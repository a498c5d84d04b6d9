from bench.rest import figure_line, flags

REFERENCE = {
    "ceiling-spread": {"rps": 1000.0, "p99_ms": 50.0},
    "ceiling-hot": {"rps": 500.0, "p99_ms": 100.0},
}


def wrk_figure(**changes):
    figure = {
        "route": "spin",
        "target": "gunicorn",
        "server": "gunicorn, 2 sync workers",
        "label": "spread-32",
        "mode": "spread",
        "connections": 32,
        "rps": 100.0,
        "p50_ms": 20.0,
        "p90_ms": 40.0,
        "p99_ms": 75.0,
        "errors": 0,
        "non2xx": 0,
        "requests": 2000,
        "statuses": {"200": 2000},
        "foreign_cpu_percent": 1.0,
    }
    figure.update(changes)
    return figure


def test_a_clean_figure_has_no_flags():
    assert flags(wrk_figure()) == []


def test_a_window_without_answers_is_flagged():
    assert flags(wrk_figure(rps=0.0, requests=0, statuses={})) == [
        "no request completed in the window"
    ]


def test_socket_errors_and_statuses_that_are_not_2xx_are_flagged():
    figure = wrk_figure(
        errors=3,
        socket_errors={"connect": 0, "read": 0, "write": 0, "timeout": 3},
        statuses={"200": 1990, "302": 7},
    )

    assert flags(figure) == [
        "3 socket errors {'connect': 0, 'read': 0, 'write': 0, 'timeout': 3}",
        "unexpected statuses {'302': 7}",
    ]


def test_a_once_run_past_the_last_player_asks_for_more_players():
    figure = wrk_figure(mode="once", statuses={"200": 90, "409": 4}, non2xx=4)

    assert flags(figure) == [
        "unexpected statuses {'409': 4}",
        "more claims than unclaimed players: raise --players",
    ]


def test_ratios_compare_hot_with_the_hot_ceiling_and_once_with_the_spread_ceiling():
    hot = figure_line(wrk_figure(mode="hot", label="hot-128", connections=128), REFERENCE, {})
    once = figure_line(wrk_figure(route="streak", mode="once", label="once-32"), REFERENCE, {})

    assert (hot["ratio_to_ceiling_rps"], hot["ratio_to_ceiling_p99"]) == (0.2, 0.75)
    assert hot["ceiling"] == "ceiling-hot: the reference's slot spin, 32 connections"
    assert (once["ratio_to_ceiling_rps"], once["ratio_to_ceiling_p99"]) == (0.1, 1.5)
    assert (once["ok"], once["flags"]) == (True, [])


def test_a_figure_splits_its_cpu_into_milliseconds_per_request_by_part():
    # given a figure whose window used 2.5 CPU seconds in the REST server and 1 in PostgreSQL
    figure = wrk_figure(cpu_seconds_by_part={"web": 2.5, "postgres": 1.0}, requests=500)

    # when its line is made
    line = figure_line(figure, REFERENCE, {})

    # then each part is CPU milliseconds per completed request
    assert line["cpu_ms_per_request"] == {"web": 5.0, "postgres": 2.0}


def test_our_processes_are_told_apart_by_their_command_line():
    from bench.harness import ForeignCpu

    sampler = ForeignCpu()
    commands = {
        (1, 0): ".venv/bin/python -m gunicorn casinoclub.wsgi:application -w 4",
        (2, 0): "postgres: postgres casinoclub 127.0.0.1(5000) idle",
        (3, 0): ".venv/bin/python -m celery -A casinoclub worker --pool solo",
        (4, 0): "redis-server 127.0.0.1:6379",
        (5, 0): "wrk --threads 2 --connections 32",
        (6, 0): ".venv/bin/python bench/run.py",
    }
    sampler.cmdlines.update(commands)

    assert [sampler._part(key) for key in commands] == [
        "web", "postgres", "workers", "redis", "wrk", "other",
    ]  # fmt: skip
