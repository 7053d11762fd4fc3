"""Print the checker lines that the chaos tests recorded (``record_property``) in a JUnit XML report.

    python tests/chaos/report.py var/chaos/report.xml
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET


def main(path: str) -> int:
    root = ET.parse(path).getroot()
    for case in root.iter("testcase"):
        status = "FAILED" if case.find("failure") is not None or case.find("error") is not None else (
            "skipped" if case.find("skipped") is not None else "passed")
        print(f"{case.get('name')}: {status} in {float(case.get('time', 0)):.0f}s")
        for prop in case.iter("property"):
            print(f"  {prop.get('name')}: {prop.get('value')}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
