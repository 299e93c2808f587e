"""State changes. One function per change, named <noun>_<verb>(*, actor, ...); each runs in one
transaction, locks what it changes (select_for_update) and writes an append-only event row."""
