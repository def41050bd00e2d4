"""File delivery (交付): expiring, per-buyer download links for paid orders, and a record of every download."""
