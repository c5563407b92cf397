"""Judge a pip-audit JSON report (``.ci/audit``): exit 1 on a known vulnerability.

A report in which nothing could be audited means the vulnerability database was not
reachable: that is said, and is not a failure.
"""

import json
import sys

try:
    with open(sys.argv[1]) as f:
        deps = json.load(f)["dependencies"]
except (OSError, ValueError, KeyError):
    print("audit: skipped: pip-audit could not reach its vulnerability database")
    sys.exit(0)
found = [d for d in deps if d.get("vulns")]
for dep in found:
    for vuln in dep["vulns"]:
        fixed = ", ".join(vuln.get("fix_versions") or []) or "no fixed release yet"
        print(f"audit: {dep['name']} {dep['version']}: {vuln['id']} (fixed in {fixed})")
if found:
    print("audit: raise the floor in pyproject.toml and regenerate requirements.lock (README)")
    sys.exit(1)
audited = [d for d in deps if "skip_reason" not in d]
if not audited:
    print("audit: skipped: the vulnerability database was not reachable")
else:
    print(f"audit: {len(audited)} locked packages, no known vulnerability")
