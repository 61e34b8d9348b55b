"""What the embedder reads of a menu item, and the hash that says whether it changed.

Price and availability are left out on purpose: changing them must not re-embed the item.

Examples
--------
>>> item = {"name": "Butter Chicken", "description": "Creamy tomato curry.", "category": "main",
...         "cuisine": "indian", "tags": ["mild", "creamy"]}
>>> item_text(item)
'Butter Chicken. Creamy tomato curry. indian main. creamy, mild'
>>> text_hash(item_text(item))[:16]
'b1eb33b035444263'
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

__all__ = ["item_text", "text_hash"]


def item_text(item: Mapping) -> str:
    """The text embedded for a menu item: name, description, cuisine, category and tags."""
    parts = [item["name"], item.get("description") or "", f"{item['cuisine']} {item['category']}",
             ", ".join(sorted(item.get("tags") or []))]
    return ". ".join(p.strip().rstrip(".") for p in parts if p.strip())


def text_hash(text: str) -> str:
    """A stable hash of the embedded text."""
    return hashlib.sha256(text.encode()).hexdigest()
