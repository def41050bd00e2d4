"""Server-rendered pages (Chinese first, English available) over the same service layer as the API."""
