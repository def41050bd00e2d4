"""Accounts and the double-entry ledger (账户与复式记账): money is integer fen and is never created or lost."""
