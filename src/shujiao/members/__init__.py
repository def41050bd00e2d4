"""Members (交易主体管理): organizations that trade on the exchange, their users and sessions."""
