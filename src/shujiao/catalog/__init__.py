"""Catalog (数据资源目录): a member's data resources, their grading, and the datasets uploaded to them."""
