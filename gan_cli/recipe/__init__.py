"""The recipe: its schema, loading (extends, --set) and validation, the shipped recipes and their catalog."""
