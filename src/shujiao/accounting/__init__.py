"""Data resource accounting (数据资源入表) after 企业数据资源相关会计处理暂行规定 (财会〔2023〕11号)."""
