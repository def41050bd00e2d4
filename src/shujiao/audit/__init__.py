"""Audit record (全程留痕): an append-only table of every state change, who made it and what changed."""
