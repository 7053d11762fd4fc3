"""Builds the SDK wheel from files of the repository above (``SDK_FILES``), so no module is copied.

Only wheels built from a checkout are supported (``pip wheel sdk/``): a source distribution of this
folder alone would not contain the files.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import Distribution, setup
from setuptools.command.build_py import build_py

REPO = Path(__file__).resolve().parent.parent

# What `import connectors.publisher, connectors.outbox, connectors.filedrop` loads, plus what
# Settings.from_env loads to validate settings (hub.analytics parsers, hub.clock) and the data
# files hub.reference and hub.analytics.worktime read. tests/wheels/test_wheels.py imports
# them in a fresh venv, so a missing file fails there.
SDK_FILES = [
    "connectors/__init__.py",
    "connectors/publisher.py",
    "connectors/outbox.py",
    "connectors/outbox_metrics.py",
    "connectors/filedrop.py",
    "connectors/source_ids.py",
    "hub/__init__.py",
    "hub/_native.py",
    "hub/clock.py",
    "hub/errors.py",
    "hub/contract/__init__.py",
    "hub/contract/headers.py",
    "hub/kafka/__init__.py",
    "hub/kafka/config.py",
    "hub/log.py",
    "hub/reference.py",
    "hub/retry.py",
    "hub/settings.py",
    "hub/settings_rules.py",
    "hub/contract/signatures.py",
    "hub/contract/topics.py",
    "hub/normalize/*.py",
    "hub/normalize/dialects/*.py",
    "hub/analytics/__init__.py",
    "hub/analytics/bounds.py",
    "hub/analytics/config.py",
    "hub/analytics/directives.py",
    "hub/analytics/periods.py",
    "hub/analytics/worktime.py",
    "hub/data/admin_units_2025.csv",
    "hub/data/working_calendar.csv",
]


class CopyFromRepository(build_py):
    def run(self) -> None:
        super().run()
        for pattern in SDK_FILES:
            found = sorted(REPO.glob(pattern))
            if not found:
                raise SystemExit(f"sdk/setup.py: {pattern} matches nothing under {REPO}")
            for path in found:
                target = Path(self.build_lib) / path.relative_to(REPO)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target)


class SdkDistribution(Distribution):
    # Without packages of its own setuptools would skip build_py (and so the copy) altogether.
    def has_pure_modules(self) -> bool:
        return True


setup(distclass=SdkDistribution, cmdclass={"build_py": CopyFromRepository})
