"""Pipeline tasks: inventory, restore, analyse, pair."""
