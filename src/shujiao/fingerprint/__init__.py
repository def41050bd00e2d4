"""Fingerprinted buyer copies (数据指纹): every buyer's copy of a tabular dataset carries a keyed,
invisible mark of its contract, so a leaked copy names its buyer (see ``scheme.py`` for the scheme)."""
