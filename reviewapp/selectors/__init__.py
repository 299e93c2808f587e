"""Read queries, kept apart from the state changes in services/."""
