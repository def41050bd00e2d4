"""Data registration and certificates (数据登记, 登记凭证)."""
