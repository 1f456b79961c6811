#!/usr/bin/env python3
"""Compare `helm template` (3.17.3 via get-helm) with `flux build helm` on many charts.

    compare_with_helm.py FLUX_BIN DIR... [--ci-values]

Every chart under DIR (a directory with Chart.yaml that is not inside charts/, or a .tgz)
is rendered as `x CHART -n ns --kube-version 1.33.0` (plus once per ci/*.yaml with
--ci-values) by both tools. Outputs are compared as parsed YAML documents, in order;
documents that differ between two helm runs (random passwords, certificates) are not
compared. Prints one line per difference and a summary.
"""
import os
import subprocess
import sys

import yaml

HELM = subprocess.check_output(["/work/shared/tools/get-helm", "3"]).decode().strip()


def docs(text):
    try:
        return [d for d in yaml.safe_load_all(text) if d is not None]
    except Exception:
        return None


def charts_under(root):
    for dp, _, fn in os.walk(root):
        inside = dp[len(root):]
        if "/charts/" in inside + "/" and not inside.endswith("/charts"):
            continue
        if "Chart.yaml" in fn and "/charts/" not in inside:
            yield dp
        for f in fn:
            if f.endswith(".tgz") and "/charts" not in inside:
                yield os.path.join(dp, f)


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    ci_values = "--ci-values" in sys.argv
    flux, roots = args[0], args[1:]
    runs = []
    for root in roots:
        for c in sorted(set(charts_under(root))):
            runs.append((c, []))
            if ci_values and os.path.isdir(os.path.join(c, "ci")):
                for v in sorted(os.listdir(os.path.join(c, "ci"))):
                    if v.endswith(".yaml"):
                        runs.append((c, ["-f", os.path.join(c, "ci", v)]))
    same = differ = both_failed = random_only = 0
    for chart, extra in runs:
        a = ["x", chart, "-n", "ns", "--kube-version", "1.33.0"] + extra
        h = subprocess.run([HELM, "template"] + a, capture_output=True, text=True)
        f = subprocess.run([flux, "build", "helm"] + a, capture_output=True, text=True)
        if h.returncode != 0 and f.returncode != 0:
            both_failed += 1
            continue
        if h.returncode != 0 or f.returncode != 0:
            differ += 1
            print("STATUS", chart, extra, "helm:", h.returncode, h.stderr.strip()[:300],
                  "| ours:", f.returncode, f.stderr.strip()[:300])
            continue
        hd, fd = docs(h.stdout), docs(f.stdout)
        if hd == fd:
            same += 1
            continue
        if hd and fd and len(hd) == len(fd):
            hd2 = docs(subprocess.run([HELM, "template"] + a, capture_output=True, text=True).stdout)
            if hd2 and len(hd2) == len(hd):
                rnd = {i for i in range(len(hd)) if hd[i] != hd2[i]}
                if rnd and all(hd[i] == fd[i] for i in range(len(hd)) if i not in rnd):
                    random_only += 1
                    continue
        differ += 1
        print("OUTPUT", chart, extra)
    print(f"{same} same, {random_only} same except random documents, "
          f"{both_failed} failed in both, {differ} different")


if __name__ == "__main__":
    main()
