"""Data asset valuation (数据资产评估) after the China Appraisal Society's 数据资产评估指导意见 (2023)."""
