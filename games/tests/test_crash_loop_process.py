"""The round loop as real processes: a leader SIGKILLed, the standby takes over (decision 0247)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.utils import timezone

from accounts.models import Wallet
from accounts.selectors import ledger_violations
from casinoclub.tests.processes import child_database_url, wait_until
from games import services
from games.models import CrashPhase, CrashRound, GameRound
from games.tests.crash_helpers import chain_where_first_round
from games.tests.factories import funded_player

pytestmark = [pytest.mark.fault, pytest.mark.timeout(120), pytest.mark.django_db(transaction=True)]


class Loop:
    def __init__(self, log_path: Path, betting_seconds: float) -> None:
        self.log_path = log_path
        environment = {
            **os.environ,
            "DATABASE_URL": child_database_url(),
            "DJANGO_SETTINGS_MODULE": "casinoclub.settings.test",
            "CRASH_BETTING_SECONDS": str(betting_seconds),
            "CRASH_STANDBY_POLL_SECONDS": "0.2",
            "CRASH_PAUSE_SECONDS": "600",  # one round per test
            "PYTHONUNBUFFERED": "1",
        }
        with open(log_path, "ab") as log:
            self.popen = subprocess.Popen(
                [sys.executable, "manage.py", "run_crash_loop"],
                env=environment,
                cwd=django_settings.BASE_DIR,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(10)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(10)


@pytest.fixture
def loops(tmp_path: Path) -> Iterator[list[Loop]]:
    started: list[Loop] = []

    def start(betting_seconds: float) -> Loop:
        loop = Loop(tmp_path / f"loop-{len(started)}.log", betting_seconds)
        started.append(loop)
        return loop

    yield start  # type: ignore[misc]  # the fixture hands out its starter
    for loop in started:
        loop.stop()
    for loop in started:
        print(f"--- loop log ---\n{loop.log()}")


def _leader_and_standby(loops, betting_seconds: float) -> tuple[Loop, Loop, CrashRound]:
    leader = loops(betting_seconds)
    round_ = wait_until(lambda: CrashRound.objects.first(), "the leader to open a round")
    standby = loops(betting_seconds)
    wait_until(lambda: "standby" in standby.log(), "the second loop to stand by", timeout=30)
    assert "leading" in leader.log()
    return leader, standby, round_


def test_a_leader_killed_mid_round_leaves_the_round_to_the_standby_which_busts_it_on_time(loops):
    # given a round that busts between 1.50x and 2.50x, a leader loop and a standby
    chain_where_first_round(lambda crash: 150 <= crash <= 250)
    cashing, auto, losing = funded_player(1000), funded_player(1000), funded_player(1000)
    leader, standby, round_ = _leader_and_standby(loops, betting_seconds=4)
    cashing_bet = services.crash_bet(cashing, 100, None)
    services.crash_bet(auto, 100, 120)
    services.crash_bet(losing, 100, None)

    # when the round runs, one player cashes out, and the leader is SIGKILLed
    wait_until(
        lambda: CrashRound.objects.filter(pk=round_.pk, phase=CrashPhase.RUNNING).exists(),
        "the round to start",
    )
    time.sleep(0.3)
    cashed = services.crash_cashout(cashing, cashing_bet.pk)
    leader.kill()
    assert CrashRound.objects.get(pk=round_.pk).phase == CrashPhase.RUNNING

    # then the standby leads and busts the round at its committed point, on time
    round_ = wait_until(
        lambda: CrashRound.objects.filter(pk=round_.pk, phase=CrashPhase.BUSTED).first(),
        "the standby to bust the round",
        timeout=40,
    )
    assert "leading" in standby.log()
    assert round_.ended_at - round_.bust_at < timezone.timedelta(seconds=3)
    bets = {bet.user_id: bet for bet in GameRound.objects.filter(crash_round=round_)}
    assert bets[cashing.pk].payout == cashed.payout > 100  # honoured, not settled again
    assert (bets[auto.pk].multiplier_x100, bets[auto.pk].payout) == (120, 120)
    assert bets[losing.pk].payout == 0
    assert [Wallet.objects.get(pk=p.pk).balance for p in (cashing, auto, losing)] == [
        900 + cashed.payout,
        1020,
        900,
    ]
    assert ledger_violations() == []
    call_command("check_ledger")


def test_a_leader_killed_in_the_betting_window_leaves_a_voided_round_and_stakes_returned(loops):
    # given a long betting window with two bets in it
    chain_where_first_round(lambda crash: crash >= 101)
    players = [funded_player(1000), funded_player(1000)]
    leader, standby, round_ = _leader_and_standby(loops, betting_seconds=60)
    for player in players:
        services.crash_bet(player, 250, None)

    # when the leader is SIGKILLed before the round starts
    leader.kill()

    # then the standby voids it and every stake is back
    wait_until(
        lambda: CrashRound.objects.filter(pk=round_.pk, phase=CrashPhase.VOIDED).exists(),
        "the standby to void the round",
        timeout=20,
    )
    wait_until(lambda: "1 round(s) voided" in standby.log(), "the standby to say so")
    assert [Wallet.objects.get(pk=p.pk).balance for p in players] == [1000, 1000]
    assert set(GameRound.objects.filter(crash_round=round_).values_list("payout", flat=True)) == {
        250
    }
    assert ledger_violations() == []
