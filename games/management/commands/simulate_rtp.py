"""Play N rounds of a game through the provably fair stream and compare with its exact odds.

    manage.py simulate_rtp slot --rounds 1000000 [--seed HEX] [--png PATH] [--default-config]

Uses the live configuration (``games.selectors.game_config_get``) unless ``--default-config``.
Prints simulated and exact RTP, hit rate, max win and a histogram, and writes the histogram as a
PNG (default ``simulate_rtp_<game>.png`` in the current directory). Crash cashes out
automatically at ``--target`` (default 2.00×); gacha chains pity across pulls and stakes its price.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from games.engine import DEFAULT_CONFIGS, GAMES, Odds, SimulationResult, exact_odds, simulate
from games.engine.crash import DEFAULT_CASHOUT_TARGET_X100
from games.engine.fair import new_server_seed

BAR_WIDTH = 40


def _multiplier(multiplier_x100: int) -> str:
    return f"{multiplier_x100 / 100:,.2f}x"


def histogram_lines(result: SimulationResult) -> list[str]:
    """One line per multiplier: rounds, share of rounds and a bar scaled to the largest share."""
    largest = max(result.histogram.values())
    lines = []
    for multiplier_x100, count in result.histogram.items():
        share = count / result.rounds
        bar = "#" * max(1 if count else 0, round(BAR_WIDTH * count / largest))
        lines.append(f"{_multiplier(multiplier_x100):>10} {count:>12,} {share:>9.4%}  {bar}")
    return lines


def write_png(result: SimulationResult, exact: Odds, path: Path) -> None:
    """A bar chart of the share of rounds per multiplier (log scale), drawn off-screen (Agg)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(9, 4.8), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    labels = [_multiplier(multiplier_x100) for multiplier_x100 in result.histogram]
    shares = [count / result.rounds for count in result.histogram.values()]
    axes.bar(range(len(labels)), shares, color="#c8a13a")
    axes.set_xticks(range(len(labels)), labels, rotation=45, ha="right", fontsize=8)
    axes.set_yscale("log")
    axes.set_xlabel("payout multiplier")
    axes.set_ylabel("share of rounds")
    axes.set_title(
        f"{result.game}: {result.rounds:,} rounds — simulated RTP {result.rtp:.4%}"
        f" ± {result.standard_error:.4%} (exact {float(exact.rtp):.4%})"
    )
    figure.savefig(path, format="png", dpi=110)


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("game", choices=GAMES)
        parser.add_argument("--rounds", type=int, default=100_000)
        parser.add_argument("--seed", help="server seed in hex (default: a fresh random seed)")
        parser.add_argument("--png", help="histogram image path (default simulate_rtp_GAME.png)")
        parser.add_argument(
            "--default-config",
            action="store_true",
            help="use the engine's default configuration instead of the live one",
        )
        parser.add_argument(
            "--target",
            type=int,
            default=DEFAULT_CASHOUT_TARGET_X100,
            help="crash: automatic cash-out target x100 (default 200)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        game: str = options["game"]
        rounds: int = options["rounds"]
        if rounds < 1:
            raise CommandError("--rounds must be at least 1")
        try:
            seed = bytes.fromhex(options["seed"]) if options["seed"] else new_server_seed()
        except ValueError as error:
            raise CommandError(f"--seed must be hex: {error}") from error
        version, config = self._config(game, options["default_config"])
        target: int = options["target"]
        try:
            exact = exact_odds(game, config, crash_target_x100=target)
        except ValueError as error:
            raise CommandError(str(error)) from error

        started = time.perf_counter()
        with tqdm(total=rounds, desc=game, unit=" rounds", unit_scale=True, file=sys.stderr) as bar:
            result = simulate(game, config, rounds, seed, bar.update, crash_target_x100=target)
        seconds = time.perf_counter() - started

        difference = (result.rtp - float(exact.rtp)) / result.standard_error
        write = self.stdout.write
        write(f"game            {game} (configuration {version})")
        if game == "crash":
            write(f"strategy        automatic cash-out at {_multiplier(target)}")
        write(f"server seed     {seed.hex()}  (client seed 'simulate', nonces 0..{rounds - 1})")
        write(f"rounds          {rounds:,} in {seconds:.1f} s ({rounds / seconds:,.0f}/s)")
        write(f"simulated RTP   {result.rtp:.4%} ± {result.standard_error:.4%} (1 standard error)")
        write(f"exact RTP       {float(exact.rtp):.4%}  ({difference:+.2f} standard errors)")
        write(f"hit rate        {result.hit_rate:.4%}  (exact {float(exact.hit_rate):.4%})")
        write(f"max win         {_multiplier(result.max_win_multiplier_x100)}")
        write("histogram (multiplier, rounds, share):")
        for line in histogram_lines(result):
            write(line)

        path = Path(options["png"] or f"simulate_rtp_{game}.png")
        write_png(result, exact, path)
        write(f"histogram image {path}")

    def _config(self, game: str, use_default: bool) -> tuple[int | str, Any]:
        if use_default:
            return "default", DEFAULT_CONFIGS[game]
        try:
            from games.selectors import game_config_get
        except ImportError as error:
            raise CommandError(
                f"the live configuration is unavailable ({error}); pass --default-config"
            ) from error
        return game_config_get(game)
