"""Render a kustomization without the kustomize binary, for offline checks.

Supports exactly the subset that ``k8s/`` uses and refuses anything else, so a manifest that
relies on a feature it does not model fails loudly instead of rendering wrong:

- ``resources``: files (multi-document YAML) and folders holding a kustomization.yaml;
- ``namespace``: set on every namespaced object;
- ``patches`` with ``path`` only: strategic-merge patches addressed by kind and name, with
  ``null`` deleting a key, ``$patch: delete`` deleting a list item or a whole object, and the
  Kubernetes merge keys of the lists below (other lists are replaced);
- ``images``: ``name`` with ``newName`` and/or ``newTag``.

Usage: ``python k8s/render.py k8s/overlays/cpu-only`` prints the rendered YAML stream.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

import yaml

Manifest = dict[str, Any]

SUPPORTED_KEYS = {"apiVersion", "kind", "namespace", "resources", "patches", "images"}
CLUSTER_SCOPED = {
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "PersistentVolume",
    "PriorityClass",
    "RuntimeClass",
    "StorageClass",
}
# Strategic-merge keys of the lists the manifests patch (from the Kubernetes API types).
MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "imagePullSecrets": "name",
}


class RenderError(ValueError):
    """The kustomization uses something this renderer does not model, or is inconsistent."""


def render(directory: Path) -> list[Manifest]:
    """The objects ``kustomize build directory`` would produce, in resource order."""
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    unsupported = set(kustomization) - SUPPORTED_KEYS
    if unsupported:
        raise RenderError(f"{directory}: unsupported kustomization keys {sorted(unsupported)}")
    objects: list[Manifest] = []
    for entry in kustomization.get("resources", []):
        path = directory / entry
        if path.is_dir():
            objects.extend(render(path))
        else:
            objects.extend(load_documents(path))
    for patch in kustomization.get("patches", []):
        if set(patch) != {"path"}:
            raise RenderError(f"{directory}: only patches with a lone 'path' are supported")
        for document in load_documents(directory / patch["path"]):
            objects = apply_patch(objects, document)
    for image in kustomization.get("images", []):
        set_image(objects, image)
    namespace = kustomization.get("namespace")
    if namespace:
        for obj in objects:
            if obj["kind"] not in CLUSTER_SCOPED:
                obj["metadata"]["namespace"] = namespace
    return objects


def load_documents(path: Path) -> list[Manifest]:
    """Every non-empty document of a YAML file."""
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def apply_patch(objects: list[Manifest], patch: Manifest) -> list[Manifest]:
    """Apply one strategic-merge patch to the object of the same kind and name."""
    key = (patch["kind"], patch["metadata"]["name"])
    matches = [i for i, obj in enumerate(objects) if (obj["kind"], obj["metadata"]["name"]) == key]
    if len(matches) != 1:
        raise RenderError(f"patch for {key} matches {len(matches)} objects")
    index = matches[0]
    if patch.get("$patch") == "delete":
        return objects[:index] + objects[index + 1 :]
    patched = list(objects)
    patched[index] = merge(objects[index], patch)
    return patched


def merge(target: Any, patch: Any, field: str = "") -> Any:
    """Strategic merge of ``patch`` into a copy of ``target``."""
    if isinstance(patch, dict) and isinstance(target, dict):
        if patch.get("$patch") == "replace":
            return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
        merged = copy.deepcopy(target)
        for key, value in patch.items():
            if key.startswith("$"):
                raise RenderError(f"unsupported directive {key} under {field!r}")
            if value is None:
                merged.pop(key, None)
            elif key in merged:
                merged[key] = merge(merged[key], value, key)
            else:
                merged[key] = copy.deepcopy(value)
        return merged
    if isinstance(patch, list) and isinstance(target, list) and field in MERGE_KEYS:
        return merge_list(target, patch, MERGE_KEYS[field])
    return copy.deepcopy(patch)


def merge_list(target: list[Any], patch: list[Any], merge_key: str) -> list[Any]:
    """Merge a keyed list: items with the same key merge, ``$patch: delete`` removes, others
    are added. Like kustomize, the patch's items come first, in patch order, followed by the
    target's untouched items."""
    remaining = copy.deepcopy(target)
    head: list[Any] = []
    for item in patch:
        if merge_key not in item:
            raise RenderError(f"list item {item} lacks its merge key {merge_key!r}")
        found = [
            i for i, existing in enumerate(remaining) if existing[merge_key] == item[merge_key]
        ]
        if item.get("$patch") == "delete":
            if not found:
                raise RenderError(f"$patch: delete of missing item {item[merge_key]!r}")
            del remaining[found[0]]
        elif found:
            head.append(merge(remaining.pop(found[0]), item))
        else:
            head.append(copy.deepcopy(item))
    return head + remaining


def split_image(image: str) -> tuple[str, str | None]:
    """``registry:5000/repo:tag`` -> (``registry:5000/repo``, ``tag``)."""
    name, _, tag = image.rpartition(":")
    if not name or "/" in tag:
        return image, None
    return name, tag


def set_image(objects: list[Manifest], rule: dict[str, str]) -> None:
    """Apply one ``images`` entry to every container whose image name matches."""
    if set(rule) - {"name", "newName", "newTag"}:
        raise RenderError(f"unsupported images entry {rule}")
    for obj in objects:
        pod = obj.get("spec", {}).get("template", {}).get("spec", {})
        for container in pod.get("containers", []) + pod.get("initContainers", []):
            name, tag = split_image(container["image"])
            if name != rule["name"]:
                continue
            new_name = rule.get("newName", name)
            new_tag = rule.get("newTag", tag)
            container["image"] = f"{new_name}:{new_tag}" if new_tag else new_name


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python k8s/render.py <kustomization folder>", file=sys.stderr)
        return 2
    print(yaml.safe_dump_all(render(Path(argv[0])), sort_keys=False), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
