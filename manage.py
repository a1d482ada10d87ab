#!/usr/bin/env python
"""Django's command-line utility. The project configuration lives in platform/ and is imported
as `imgplatform` (see README)."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "imgplatform.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
