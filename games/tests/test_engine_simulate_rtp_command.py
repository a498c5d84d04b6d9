"""manage.py simulate_rtp with the default configurations (no database needed)."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from games.engine import GAMES

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("game", GAMES)
def test_command_prints_the_report_and_writes_a_png(game, tmp_path):
    out, err = StringIO(), StringIO()
    png = tmp_path / f"{game}.png"

    call_command(
        "simulate_rtp",
        game,
        "--default-config",
        "--rounds",
        "2000",
        "--seed",
        "ab" * 32,
        "--png",
        str(png),
        stdout=out,
        stderr=err,
    )

    report = out.getvalue()
    assert "simulated RTP" in report
    assert "exact RTP" in report
    assert "hit rate" in report
    assert "max win" in report
    assert "histogram" in report
    assert f"server seed     {'ab' * 32}" in report
    assert png.read_bytes().startswith(PNG_SIGNATURE)


def test_default_png_path_is_in_the_current_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    call_command("simulate_rtp", "rps", "--default-config", "--rounds", "2000", stdout=StringIO())

    assert (tmp_path / "simulate_rtp_rps.png").read_bytes().startswith(PNG_SIGNATURE)


def test_bad_arguments_are_command_errors(tmp_path):
    with pytest.raises(CommandError):
        call_command("simulate_rtp", "slot", "--default-config", "--rounds", "0")
    with pytest.raises(CommandError):
        call_command("simulate_rtp", "slot", "--default-config", "--seed", "xyz")
    with pytest.raises(CommandError):
        call_command("simulate_rtp", "crash", "--default-config", "--target", "100")
    assert not list(tmp_path.iterdir())
