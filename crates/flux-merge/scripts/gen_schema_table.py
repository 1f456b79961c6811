#!/usr/bin/env python3
"""Regenerate crates/flux-merge/src/generated/k8s-1.33-patch-meta.json.

Source: the PyPI package kubernetes-validate==1.33.0, file
kubernetes_validate/kubernetes-json-schema/v1.33.0-local/_definitions.json
(the Kubernetes 1.33 OpenAPI definitions, 707 of them).

The output keeps only what patching and field management need: structure (type, properties,
items, additionalProperties, $ref, allOf/oneOf collapsed to a type) and the x-kubernetes-*
extensions for patch strategy, merge keys, list/map types, int-or-string, preserve-unknown-fields,
embedded resources and group-version-kind, plus the `default` of list-map key fields (taken from
their description, e.g. ContainerPort.protocol "TCP"; server-side apply needs it). Descriptions,
enums, other defaults and validations are dropped. One definition per line so diffs stay readable.

Usage:  pip install kubernetes-validate==1.33.0
        python3 crates/flux-merge/scripts/gen_schema_table.py [OUT]
"""
import json
import os
import re
import sys

VERSION = "1.33.0"
KEEP_EXT = [
    "x-kubernetes-patch-merge-key",
    "x-kubernetes-patch-strategy",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
    "x-kubernetes-map-type",
    "x-kubernetes-int-or-string",
    "x-kubernetes-preserve-unknown-fields",
    "x-kubernetes-embedded-resource",
]


def locate():
    import kubernetes_validate  # noqa: F401  (raises when the package is missing)
    import importlib.metadata as md

    have = md.version("kubernetes-validate")
    if have != VERSION:
        sys.exit(f"kubernetes-validate {have} installed, need {VERSION}")
    base = os.path.dirname(kubernetes_validate.__file__)
    return os.path.join(base, "kubernetes-json-schema", f"v{VERSION}-local", "_definitions.json")


def single_type(t):
    if isinstance(t, list):
        t = [x for x in t if x != "null"]
        return t[0] if len(t) == 1 else None
    return t


KEY_DEFAULT = re.compile(r'(?:Defaults to|Default is) "?([A-Za-z0-9]+)"?')


def key_defaults(defs):
    """Defaults of list-map key fields, which server-side apply needs to identify list items.
    The 1.33 definitions carry no `default` keyword; the default is stated in the description
    (e.g. ContainerPort.protocol: 'Defaults to "TCP".')."""
    out = {}
    for d in defs.values():
        for prop in (d.get("properties") or {}).values():
            keys = prop.get("x-kubernetes-list-map-keys")
            ref = (prop.get("items") or {}).get("$ref")
            if not keys or not ref:
                continue
            item = defs.get(ref.rsplit("/", 1)[-1]) or {}
            for key in keys:
                desc = ((item.get("properties") or {}).get(key) or {}).get("description", "")
                m = KEY_DEFAULT.search(desc)
                if m:
                    out[(ref.rsplit("/", 1)[-1], key)] = m.group(1)
    return out


def prune(s):
    if not isinstance(s, dict):
        return {}
    out = {}
    if "$ref" in s:
        out["$ref"] = "#/definitions/" + s["$ref"].rsplit("/", 1)[-1]
    if "allOf" in s and s["allOf"]:
        inner = prune(s["allOf"][0])
        out.update({k: v for k, v in inner.items() if k not in out})
    if "oneOf" in s:
        kinds = sorted({single_type(x.get("type")) for x in s["oneOf"] if isinstance(x, dict)} - {None})
        if kinds == ["integer", "string"]:
            out["x-kubernetes-int-or-string"] = True
        elif kinds == ["number", "string"]:
            out["format"] = "quantity"
    t = single_type(s.get("type"))
    if t:
        out["type"] = t
    if s.get("format") in ("int-or-string", "quantity", "date-time"):
        out["format"] = s["format"]
    if "properties" in s:
        out["properties"] = {k: prune(v) for k, v in s["properties"].items()}
    if "items" in s:
        out["items"] = prune(s["items"])
    if "additionalProperties" in s:
        ap = s["additionalProperties"]
        out["additionalProperties"] = prune(ap) if isinstance(ap, dict) else ap
    for k in KEEP_EXT:
        if k in s:
            out[k] = s[k]
    gvk = s.get("x-kubernetes-group-version-kind")
    if gvk:
        out["x-kubernetes-group-version-kind"] = [
            {"group": g.get("group", ""), "version": g["version"], "kind": g["kind"]} for g in gvk
        ]
    return out


def main():
    src = locate()
    out_path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "src", "generated", "k8s-1.33-patch-meta.json")
    with open(src) as f:
        doc = json.load(f)
    defs = doc.get("$defs") or doc.get("definitions")
    defaults = key_defaults(defs)
    lines = []
    for name in sorted(defs):
        pruned = prune(defs[name])
        for (def_name, key), value in sorted(defaults.items()):
            if def_name == name and key in pruned.get("properties", {}):
                pruned["properties"][key]["default"] = value
        lines.append(json.dumps(name) + ":" + json.dumps(pruned, separators=(",", ":"), sort_keys=True))
    header = (f"generated by crates/flux-merge/scripts/gen_schema_table.py from PyPI kubernetes-validate=={VERSION}, "
              f"kubernetes_validate/kubernetes-json-schema/v{VERSION}-local/_definitions.json ({len(defs)} definitions); do not edit")
    with open(out_path, "w") as f:
        f.write("{\"_source\":" + json.dumps(header) + ",\n\"definitions\":{\n")
        f.write(",\n".join(lines))
        f.write("\n}}\n")
    print(f"wrote {out_path}: {len(defs)} definitions")


if __name__ == "__main__":
    main()
