"""The README says what the code does: every topic `hub topics create` makes is in the topics table,
every HUB_* setting is in the configuration table as `hub settings --markdown` prints it, and every
package of hub/ is in the layout (hub issue 25)."""

from __future__ import annotations

import argparse
import re

from hub.cli import settings as settings_cli
from hub.contract import topics
from hub.settings import ROOT, Settings

README = (ROOT / "README.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    """The text of one ``## title`` section of the README."""
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start:end if end >= 0 else len(README)]


def table_rows(text: str) -> list[str]:
    """The body rows of the first Markdown table in ``text`` (its header and rule line dropped)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    end = next((i for i in range(start, len(lines)) if not lines[i].startswith("|")), len(lines))
    return lines[start + 2:end]


def first_cells(text: str) -> list[str]:
    return [re.split(r"(?<!\\)\|", row)[1] for row in table_rows(text)]


def topic_patterns() -> list[tuple[str, re.Pattern]]:
    """Each topic name the topics table's first column gives; ``<placeholder>`` parts stand for any name part."""
    names = [name for cell in first_cells(section("Topics")) for name in re.findall(r"`([^`]+)`", cell)]
    return [(name, re.compile("".join(r"[^\s]+" if part.startswith("<") else re.escape(part)
                                      for part in re.split(r"(<[^>]+>)", name) if part)))
            for name in names]


def test_the_topics_table_names_every_topic_hub_topics_create_makes():
    created = [spec.name for spec in topics.specs(Settings.from_env(env={}))]
    assert "feed.freshness.v1" in created and "hub-kpi-dossiers-feed.dossier.v1-changelog" in created
    patterns = topic_patterns()
    missing = [name for name in created if not any(p.fullmatch(name) for _n, p in patterns)]
    assert missing == [], f"add these topics to the README's topics table: {missing}"


def test_the_topics_table_names_no_topic_the_hub_does_not_create():
    created = {spec.name for spec in topics.specs(Settings.from_env(env={}))}
    literal = [name for name, _p in topic_patterns() if "<" not in name]
    assert [name for name in literal if name not in created] == []


def test_the_topics_table_has_no_promise_of_later_work():
    """The analytics processors exist; the table once said they 'come next'."""
    assert "come next" not in section("Topics")


def test_the_configuration_table_is_what_hub_settings_markdown_prints(capsys):
    settings_cli.run(argparse.Namespace(markdown=True), Settings.from_env(env={}))
    printed = capsys.readouterr().out.splitlines()[2:]
    readme = table_rows(section("Configuration"))
    variables = {row.split("`")[1] for row in readme}
    assert {"HUB_" + name for name in ("WORKER_BATCH_MAX", "PARTITIONS", "GATEWAY_PORT")} <= variables
    assert variables == {"HUB_" + name.upper() for name in Settings.__dataclass_fields__}
    assert readme == printed, "regenerate the README table rows with `.venv/bin/hub settings --markdown`"


def test_the_layout_names_every_package_of_hub():
    layout = section("Development")
    packages = sorted(p.parent.name for p in (ROOT / "hub").glob("*/__init__.py"))
    assert {"engine", "analytics", "processors"} <= set(packages)
    assert [p for p in packages if f"hub/{p}/" not in layout] == []
