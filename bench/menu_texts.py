"""Synthetic menu texts for the benchmarks: deterministic, varied in length like a real menu.

Each text is what the embedder topology feeds the model for one menu item: name, category
and cuisine, a description of 0 to 3 sentences, and a few tags.

Examples
--------
>>> texts = menu_texts(3, seed=1)
>>> len(texts), texts == menu_texts(3, seed=1)
(3, True)
"""

from __future__ import annotations

import random

_DISHES = {
    "North Indian": ["Butter Chicken", "Paneer Tikka", "Dal Makhani", "Chicken Biryani", "Garlic Naan",
                     "Chana Masala", "Rogan Josh", "Aloo Gobi", "Mango Lassi", "Gulab Jamun"],
    "Italian": ["Margherita Pizza", "Spaghetti Carbonara", "Lasagne al Forno", "Tiramisu", "Bruschetta",
                "Penne Arrabbiata", "Risotto ai Funghi", "Panna Cotta", "Caprese Salad", "Calzone"],
    "Japanese": ["Salmon Nigiri", "Chicken Katsu Curry", "Tonkotsu Ramen", "Edamame", "Gyoza",
                 "Miso Soup", "Matcha Ice Cream", "California Roll", "Teriyaki Tofu", "Yakitori"],
    "Mexican": ["Beef Burrito", "Chicken Quesadilla", "Nachos Supreme", "Guacamole", "Churros",
                "Fish Tacos", "Elote", "Horchata", "Enchiladas Verdes", "Tres Leches Cake"],
    "American": ["Cheeseburger", "Buffalo Wings", "Mac and Cheese", "Caesar Salad", "Milkshake",
                 "BBQ Ribs", "Onion Rings", "Brownie Sundae", "Pulled Pork Sandwich", "Coleslaw"],
    "Thai": ["Pad Thai", "Green Curry", "Tom Yum Soup", "Som Tam", "Mango Sticky Rice",
             "Massaman Curry", "Spring Rolls", "Thai Iced Tea", "Larb Gai", "Pad See Ew"],
}
_CATEGORIES = ["main", "side", "starter", "drink", "dessert"]
_ADJECTIVES = ["smoky", "creamy", "crispy", "tangy", "slow-cooked", "fresh", "spicy", "sweet",
               "charred", "house-made", "hand-pulled", "zesty", "rich", "light", "fragrant"]
_INGREDIENTS = ["tomato", "garlic", "coriander", "chilli", "basil", "mozzarella", "ginger", "lime",
                "coconut milk", "sesame", "black beans", "avocado", "parmesan", "lemongrass",
                "cumin", "paneer", "chicken thigh", "prawns", "mushrooms", "spring onion"]
_TAGS = ["vegetarian", "vegan", "gluten-free", "spicy", "bestseller", "new", "chef's special",
         "contains nuts", "dairy-free", "halal", "family size", "low calorie"]


def _sentence(rng: random.Random) -> str:
    a, b = rng.sample(_ADJECTIVES, 2)
    x, y, z = rng.sample(_INGREDIENTS, 3)
    return f"{a.capitalize()} {x} with {y} and a {b} {z} finish."


def menu_texts(n: int, seed: int = 7) -> list[str]:
    """``n`` menu-item texts drawn with a fixed seed."""
    rng = random.Random(seed)
    texts = []
    for _ in range(n):
        cuisine = rng.choice(list(_DISHES))
        name = rng.choice(_DISHES[cuisine])
        if rng.random() < 0.4:
            name = f"{rng.choice(_ADJECTIVES).capitalize()} {name}"
        description = " ".join(_sentence(rng) for _ in range(rng.choice([0, 1, 1, 2, 3])))
        tags = ", ".join(rng.sample(_TAGS, rng.randint(0, 3)))
        parts = [f"{name} ({rng.choice(_CATEGORIES)}, {cuisine})", description, tags and f"Tags: {tags}."]
        texts.append(" ".join(p for p in parts if p))
    return texts
