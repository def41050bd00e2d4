"""Products and listing review (产品上架, 合规审核): what providers offer and the exchange approves."""
