"""Write the OpenAPI schema snapshot (``docs/openapi.yaml``) the test suite compares against."""

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

SCHEMA_SNAPSHOT = Path(settings.BASE_DIR) / "docs" / "openapi.yaml"


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--file", default=str(SCHEMA_SNAPSHOT))

    def handle(self, *args: Any, file: str, **options: Any) -> None:
        call_command("spectacular", "--file", file, "--fail-on-warn", "--validate")
        self.stdout.write(self.style.SUCCESS(f"wrote {file}"))
