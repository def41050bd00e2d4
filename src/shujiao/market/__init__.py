"""Orders (交易): a buyer's purchase of a listed product, paid into escrow and settled through the ledger."""
