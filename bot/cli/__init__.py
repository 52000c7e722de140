"""The ``carebot`` command line: run the bot, migrate, import and export, manage staff.

An operator's tool, so its words are English and not translated. Each command loads the
settings, runs one ``asyncio.run`` that migrates the database (cheap when it is up to
date, and what makes a fresh machine work), does its work in one transaction that the
command owns, and disposes of the engine. Exit codes: 0 done, 1 the command could not do
what was asked (the reasons are printed), 2 bad usage or a bad setting.

One module per command group; ``common`` holds the command tree and what every command
shares. They are imported here in the order their commands are listed in ``--help``.
"""

# isort: off
# In the order their commands are listed in --help (run, occasions, birthday, followups).
from bot.cli import run  # noqa: F401  (run, db upgrade)
from bot.cli import customers  # noqa: F401  (import customers, export customer)
from bot.cli import staff  # noqa: F401  (staff add, remove, list)
from bot.cli import canned  # noqa: F401  (canned add, list, remove)
from bot.cli import occasions  # noqa: F401  (occasions, birthday)
from bot.cli import campaigns  # noqa: F401  (campaign new, edit, preview, ...)
from bot.cli import purchases  # noqa: F401  (purchase add)
from bot.cli import followups  # noqa: F401  (followups)
from bot.cli import reports  # noqa: F401  (report)
from bot.cli import inbox  # noqa: F401  (inbox list, retry, drop)
from bot.cli import directory  # noqa: F401  (customer find, show, tag, segments)
from bot.cli import faq  # noqa: F401  (faq import, export, list, stats, match)

# isort: on
from bot.cli.common import app
from bot.cli.customers import problem_in_words
from care.clock import SystemClock  # what bot.cli.common.clock gives

__all__ = ["SystemClock", "app", "problem_in_words"]
