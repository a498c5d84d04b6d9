"""The crash round's hash chains (docs/fairness.md, docs/decisions/0246).

    manage.py crash_chain create --length N     # prints the chain id and its terminal hash
    manage.py crash_chain set-salt CHAIN_ID --salt HEX --source "Bitcoin block 880000"
    manage.py crash_chain show [CHAIN_ID]
    manage.py crash_chain dev-chain             # development only: a chain with the dev salt

Publish the terminal hash and the salt's source (a Bitcoin block height still in the future)
first; once that block is mined, set its hash as the salt. Rounds are played only on a chain
whose salt is set; the salt is set once and never changes.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from casinoclub.errors import ApplicationError
from games import services
from games.models import CrashChain, CrashRound

# docs/fairness.md: development chains are salted with this fixed value, never a public one
DEV_SALT = "0000000000000000000000000000000000000000000000000000000000000001"
DEV_SALT_SOURCE = "development salt (fixed, not a public value)"


class Command(BaseCommand):
    help = "Create a crash hash chain, set its salt, or show chains."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        create = actions.add_parser("create", help="make a chain of N rounds")
        create.add_argument("--length", type=int, required=True)
        salt = actions.add_parser("set-salt", help="fix a chain's salt (once)")
        salt.add_argument("chain_id", type=int)
        salt.add_argument("--salt", required=True, help="64 lowercase hex digits")
        salt.add_argument("--source", required=True, help="where the public value comes from")
        actions.add_parser("dev-chain", help="development: a playable chain with the dev salt")
        show = actions.add_parser("show", help="list chains")
        show.add_argument("chain_id", type=int, nargs="?")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["action"] == "create":
                chain = services.crash_chain_create(options["length"])
                self.stdout.write(f"chain {chain.pk}: {chain.length} rounds")
                self.stdout.write(f"terminal hash: {chain.terminal_hash}")
                self.stdout.write("Publish it with the salt's source, then run set-salt.")
            elif options["action"] == "dev-chain":
                self._dev_chain()
            elif options["action"] == "set-salt":
                chain = services.crash_chain_salt_set(
                    options["chain_id"], options["salt"], options["source"]
                )
                self.stdout.write(f"chain {chain.pk}: salt {chain.salt} ({chain.salt_source})")
            else:
                chains = CrashChain.objects.order_by("pk")
                if options["chain_id"] is not None:
                    chains = chains.filter(pk=options["chain_id"])
                for chain in chains:
                    played = CrashRound.objects.filter(chain=chain).count()
                    self.stdout.write(
                        f"chain {chain.pk}: {played}/{chain.length} played,"
                        f" terminal {chain.terminal_hash},"
                        f" salt {chain.salt or '(not set)'} {chain.salt_source}"
                    )
        except ApplicationError as error:
            raise CommandError(f"{error.message} {error.details or ''}".strip()) from error

    def _dev_chain(self) -> None:
        """A 10,000-round chain salted with DEV_SALT, unless a playable chain exists. The dev salt
        is no public value: this is refused under the production settings."""
        if settings.ENVIRONMENT == "production":
            raise CommandError("dev-chain does not run in production: set a real salt instead")
        for chain in CrashChain.objects.exclude(salt=""):
            if CrashRound.objects.filter(chain=chain).count() < chain.length:
                self.stdout.write(f"chain {chain.pk} is playable")
                return
        chain = services.crash_chain_create(10_000)
        services.crash_chain_salt_set(chain.pk, DEV_SALT, DEV_SALT_SOURCE)
        self.stdout.write(f"chain {chain.pk}: terminal hash {chain.terminal_hash}, dev salt")
