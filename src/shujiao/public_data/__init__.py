"""Public data (公共数据): the data authority's open-data catalog, conditional access, data requests."""
