"""Data quality evaluation (数据质量评价): profiling, rules and scoring after GB/T 36344-2018."""
