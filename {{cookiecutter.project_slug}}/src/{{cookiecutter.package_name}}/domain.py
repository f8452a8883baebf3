"""The demo's domain vocabulary (stores, categories, key, targets): plain constants, no imports."""

STORES = ("city_centre", "suburb", "retail_park", "village")
CATEGORIES = ("bakery", "dairy", "produce", "meat", "frozen", "pantry")
KEY = ("date", "store", "category")
TARGETS = ("units_sold", "high_demand")
