"""Shujiao (数交): an open-source data element exchange platform (数据要素交易平台)."""
