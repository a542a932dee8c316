#!/usr/bin/env python3
"""Makes the directories and files of a plan (systemk-render --output DIR's plan.json) true on disk,
as the floor of the agent benchmark needs them: each planned directory with its mode and numeric
owner, each file with known content written in place (no AtomicWriter generations: the units only
bind the volume directories). Owners that are not numeric, or empty, become root.

    materialize.py PLAN.json
"""
import base64
import json
import os
import sys


def ids(owner, group):
    def num(value):
        return int(value) if value.isdigit() else 0
    return num(owner), num(group)


def main(plan_path):
    with open(plan_path) as f:
        plan = json.load(f)
    for pod in plan["pods"]:
        for check in pod.get("hostPathChecks", []):
            if check["type"] != "MountPoint" or not os.path.exists(check["path"]):
                sys.exit(f"materialize.py: host path check {check['type']} {check['path']} not handled here")
        if pod.get("tmpfsMounts") or pod.get("packages"):
            sys.exit(f"materialize.py: pod {pod['namespace']}/{pod['name']} needs more than directories and files")
        for d in pod["directories"]:
            os.makedirs(d["path"], exist_ok=True)
            os.chown(d["path"], *ids(d["owner"], d["group"]))
            os.chmod(d["path"], int(d["mode"], 8))
        for f in pod["files"]:
            content = f["content"]
            if "base64" not in content:
                sys.exit(f"materialize.py: {f['path']}: content known only at run time")
            os.makedirs(os.path.dirname(f["path"]), exist_ok=True)
            with open(f["path"], "wb") as out:
                out.write(base64.b64decode(content["base64"]))
            os.chown(f["path"], *ids(f["owner"], f["group"]))
            os.chmod(f["path"], int(f["mode"], 8))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: materialize.py PLAN.json")
    main(sys.argv[1])
